import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type SmsStub, startSmsStub } from '../../test/support/sms-stub.ts';
import { loadConfig } from '../config/config.ts';
import { SmsError, TwilioCompatibleSender, smsSenderFromConfig } from './sender.ts';

const TO = '+14155550123';
const FROM = '+15005550006';
const SERVICE_SID = `MG${'0123456789abcdef'.repeat(2)}`;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function stub(opts: Parameters<typeof startSmsStub>[0] = {}): Promise<SmsStub> {
  const s = await startSmsStub(opts);
  closers.push(() => s.close());
  return s;
}

/** A bare HTTP server for answers the stub never gives; counts the requests it got. */
async function serve(handler: http.RequestListener): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/Messages.json`, hits: () => hits };
}

const sender = (url: string, over: Partial<ConstructorParameters<typeof TwilioCompatibleSender>[0]> = {}) =>
  new TwilioCompatibleSender({ url, accountSid: 'ACtest', authToken: 'token-token', from: FROM, ...over });
const stubSender = (s: SmsStub, over: Partial<ConstructorParameters<typeof TwilioCompatibleSender>[0]> = {}) =>
  sender(s.url, { accountSid: s.sid, authToken: s.token, ...over });

async function failure(p: Promise<unknown>): Promise<SmsError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SmsError);
    return e as SmsError;
  }
  throw new Error('expected the send to fail');
}

describe('TwilioCompatibleSender', () => {
  it('posts To, From and Body form-encoded with Basic auth and returns the message sid', async () => {
    const s = await stub();
    // Characters the form encoding must carry intact: & = + % newline, accents, emoji.
    const body = 'Code 123 456 & more = +100% ü 🎟\nsecond line';
    const { providerId } = await stubSender(s).send(TO, body);
    expect(s.requests).toHaveLength(1);
    const got = s.requests[0]!;
    expect(got).toMatchObject({ method: 'POST', contentType: 'application/x-www-form-urlencoded', to: TO, from: FROM, body, auth: { user: s.sid, pass: s.token } });
    expect(got.messagingServiceSid).toBeUndefined();
    expect(providerId).toBe(got.sid);
  });

  it('sends a messaging service SID as MessagingServiceSid instead of From', async () => {
    const s = await stub();
    await stubSender(s, { from: SERVICE_SID }).send(TO, 'hello');
    expect(s.requests[0]).toMatchObject({ messagingServiceSid: SERVICE_SID, to: TO });
  });

  it('reports wrong credentials as status and code, retryable', async () => {
    const s = await stub();
    const err = await failure(stubSender(s, { authToken: 'wrong-token' }).send(TO, 'hello'));
    expect(err).toMatchObject({ message: 'HTTP 401 code 20003', status: 401, code: 20003, permanent: false });
  });

  it('marks an invalid number permanent without quoting the number the provider quoted', async () => {
    const s = await stub({ rejectNumber: () => true });
    const err = await failure(stubSender(s).send(TO, 'hello'));
    expect(err).toMatchObject({ message: 'HTTP 400 code 21211', status: 400, code: 21211, permanent: true });
    expect(JSON.stringify(err)).not.toContain(TO.slice(1));
  });

  it('reports a closed port and a timeout as tokens', async () => {
    const down = await stub({ down: true });
    expect((await failure(stubSender(down).send(TO, 'hello'))).message).toBe('network ECONNREFUSED');

    const slow = await stub({ delayMs: 500 });
    const err = await failure(stubSender(slow, { timeoutMs: 100 }).send(TO, 'hello'));
    expect(err).toMatchObject({ message: 'timeout after 100 ms', status: undefined });
  });

  it('refuses a success without a sid, and an error page without JSON', async () => {
    const noSid = await serve((_req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end('{"status":"queued"}'));
    expect((await failure(sender(noSid.url).send(TO, 'hello'))).message).toBe('HTTP 201 without a message sid');

    const html = await serve((_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end(`<h1>Bad gateway for ${TO}</h1>`));
    const err = await failure(sender(html.url).send(TO, 'hello'));
    expect(err).toMatchObject({ message: 'HTTP 502', status: 502, code: undefined, permanent: false });
  });

  it('does not follow a redirect, so the code and credentials go nowhere else', async () => {
    const elsewhere = await serve((_req, res) => res.writeHead(201).end('{"sid":"SMx"}'));
    const redirecting = await serve((_req, res) => res.writeHead(307, { location: elsewhere.url }).end());
    expect((await failure(sender(redirecting.url).send(TO, 'hello'))).message).toBe('redirect refused');
    expect(redirecting.hits()).toBe(1);
    expect(elsewhere.hits()).toBe(0);
  });

  it('stops reading an oversized answer', async () => {
    const big = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"sid":"SM1","pad":"${'x'.repeat(200_000)}"}`));
    expect((await failure(sender(big.url).send(TO, 'hello'))).message).toBe('HTTP 200 response larger than 65536 bytes');
  });
});

describe('smsSenderFromConfig', () => {
  it('returns no sender without a URL and a working one with the full settings', async () => {
    expect(smsSenderFromConfig(loadConfig({}, {}))).toBeUndefined();
    const s = await stub();
    const cfg = loadConfig({}, { TESSERA_SMS_URL: s.url, TESSERA_SMS_ACCOUNT_SID: s.sid, TESSERA_SMS_AUTH_TOKEN: s.token, TESSERA_SMS_FROM: FROM });
    const sms = smsSenderFromConfig(cfg);
    expect(sms).toBeInstanceOf(TwilioCompatibleSender);
    await sms!.send(TO, 'hello');
    expect(s.requests[0]).toMatchObject({ status: 201, from: FROM });
  });

  it('refuses a hand-built config with a URL but no credentials', () => {
    expect(() => smsSenderFromConfig({ smsUrl: 'https://sms.example.org/Messages.json', smsAccountSid: undefined, smsAuthToken: undefined, smsFrom: undefined })).toThrow(SmsError);
  });
});
