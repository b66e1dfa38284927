import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Server-side check of AWS Signature Version 4 as S3 does it, written from the AWS
 * specification ("Authenticating Requests (AWS Signature Version 4)", S3 API reference) so
 * that it can catch mistakes in our client (which signs with aws4fetch). s3rver checks only the
 * access key id of a SigV4 request; test/support/s3rver.ts puts this in front of it.
 *
 * Covers the Authorization header (AWS4-HMAC-SHA256) and presigned URLs (X-Amz-* query
 * parameters). Deliberately not covered: the Date header instead of x-amz-date, session tokens,
 * and the per-chunk signatures of STREAMING-* payloads (the seed request is verified; the proxy
 * refuses the body). Whether the body matches a hex x-amz-content-sha256 is the caller's job,
 * since this function never sees the body.
 */

export type SigV4FailureCode =
  | 'AccessDenied'
  | 'InvalidAccessKeyId'
  | 'SignatureDoesNotMatch'
  | 'RequestTimeTooSkewed'
  | 'AuthorizationHeaderMalformed'
  | 'AuthorizationQueryParametersError'
  | 'InvalidRequest'
  | 'InvalidArgument';

export type SigV4Result =
  | { ok: true; accessKeyId: string; via: 'header' | 'query'; payloadHash: string }
  | {
      ok: false;
      code: SigV4FailureCode;
      /** the HTTP status S3 answers this failure with */
      status: 400 | 403;
      message: string;
      /** extra elements of S3's XML error document (StringToSign, CanonicalRequest, …) */
      details: Record<string, string>;
    };

export interface SigV4Request {
  method: string;
  /** the request target exactly as received: raw path and query string (Node's req.url) */
  url: string;
  /** header names in any case; repeated headers as arrays (Node's req.headersDistinct) */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

export interface SigV4Options {
  /** accessKeyId → secretAccessKey */
  secrets: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  now: Date;
  region?: string;
  service?: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const STREAMING_PAYLOADS = new Set([
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
  'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER',
]);
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export const isStreamingPayload = (hash: string) => STREAMING_PAYLOADS.has(hash);
export const isHexPayloadHash = (hash: string) => HEX_SHA256.test(hash);

const fail = (code: SigV4FailureCode, status: 400 | 403, message: string, details: Record<string, string> = {}): SigV4Result => ({ ok: false, code, status, message, details });

/**
 * %XX sequences become their bytes; anything else is taken as its UTF-8 bytes. A lone or
 * malformed % stays a literal '%' (and is then encoded as %25), so decoding never throws and
 * invalid UTF-8 survives byte for byte.
 */
function percentDecode(s: string, plusIsSpace: boolean): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s[i] as string;
    if (c === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 3;
    } else if (c === '+' && plusIsSpace) {
      out.push(0x20);
      i += 1;
    } else {
      const ch = String.fromCodePoint(s.codePointAt(i) as number);
      for (const b of Buffer.from(ch, 'utf8')) out.push(b);
      i += ch.length;
    }
  }
  return Buffer.from(out);
}

/** The spec's UriEncode: unreserved characters (A-Z a-z 0-9 - . _ ~) as is, every other byte as %XX, upper case. */
function uriEncode(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const unreserved = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * S3's canonical URI: each path segment decoded once and encoded once. Unlike the other AWS
 * services, S3 neither double-encodes nor normalizes (no merging of '//', no '.' or '..').
 * A '+' in the path is a plus sign (RFC 3986), not a space.
 */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  return rawPath
    .split('/')
    .map((seg) => uriEncode(percentDecode(seg, false)))
    .join('/');
}

interface QueryParam {
  /** decoded name, for looking up X-Amz-* parameters */
  name: string;
  value: string;
  encodedName: string;
  encodedValue: string;
}

/**
 * Query parameters in the order received. '+' is read as a space, as in
 * application/x-www-form-urlencoded (what URLSearchParams writes and S3 accepts); a parameter
 * without '=' has the empty value.
 */
function parseQuery(rawQuery: string): QueryParam[] {
  return rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const n = percentDecode(eq < 0 ? p : p.slice(0, eq), true);
      const v = percentDecode(eq < 0 ? '' : p.slice(eq + 1), true);
      return { name: n.toString('utf8'), value: v.toString('utf8'), encodedName: uriEncode(n), encodedValue: uriEncode(v) };
    });
}

/** Sorted by encoded name, then by encoded value (byte order: both are ASCII by now). */
export function canonicalQueryString(params: readonly Pick<QueryParam, 'encodedName' | 'encodedValue'>[]): string {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...params]
    .sort((a, b) => cmp(a.encodedName, b.encodedName) || cmp(a.encodedValue, b.encodedValue))
    .map((p) => `${p.encodedName}=${p.encodedValue}`)
    .join('&');
}

/** Values of a repeated header joined by ',', each trimmed with inner runs of blanks collapsed to one space. */
function canonicalHeaderValue(values: readonly string[]): string {
  return values.map((v) => v.trim().replace(/[ \t]+/g, ' ')).join(',');
}

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

const authHeaderSchema = z.object({
  Credential: z.string().regex(/^[^/]+\/\d{8}\/[^/]+\/[^/]+\/[^/]+$/, 'Credential must be <key id>/<date>/<region>/<service>/aws4_request'),
  SignedHeaders: z.string().regex(/^[a-z0-9!#$%&'*+.^_`|~-]+(?:;[a-z0-9!#$%&'*+.^_`|~-]+)*$/, 'SignedHeaders must be lower-case header names separated by ;'),
  Signature: z.string().min(1),
});

const presignSchema = z.object({
  'X-Amz-Algorithm': z.literal(ALGORITHM),
  'X-Amz-Credential': authHeaderSchema.shape.Credential,
  'X-Amz-Date': z.string(),
  'X-Amz-Expires': z.string().regex(/^\d{1,7}$/).transform(Number).pipe(z.number().int().min(1).max(MAX_PRESIGN_EXPIRES_S)),
  'X-Amz-SignedHeaders': authHeaderSchema.shape.SignedHeaders,
  'X-Amz-Signature': z.string().min(1),
});
const PRESIGN_PARAMS = Object.keys(presignSchema.shape);

/** Names of the query parameters that carry presigned-URL authentication (to strip before forwarding). */
export const PRESIGN_QUERY_PARAMS: readonly string[] = [...PRESIGN_PARAMS, 'X-Amz-Security-Token'];

/** "Key=Value, Key=Value" after the algorithm; spaces around the commas are optional. */
function parseAuthParams(s: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    if (eq <= 0) return undefined;
    const k = p.slice(0, eq);
    if (k in out) return undefined;
    out[k] = p.slice(eq + 1);
  }
  return out;
}

/** 20130524T000000Z → epoch ms, or undefined unless it is exactly that form and a real instant. */
function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) return undefined;
  return t;
}

function lookupSecret(secrets: SigV4Options['secrets'], id: string): string | undefined {
  if (secrets instanceof Map) return secrets.get(id);
  const rec = secrets as Readonly<Record<string, string>>;
  return Object.hasOwn(rec, id) ? rec[id] : undefined;
}

/** Verifies one request's SigV4 authentication; never throws on untrusted input. */
export function verifySigV4(req: SigV4Request, opts: SigV4Options): SigV4Result {
  const region = opts.region ?? 'us-east-1';
  const service = opts.service ?? 's3';

  const headers = new Map<string, readonly string[]>();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    const name = k.toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), ...(typeof v === 'string' ? [v] : v)]);
  }
  const header = (name: string) => headers.get(name)?.join(',');

  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const query = parseQuery(q < 0 ? '' : req.url.slice(q + 1));

  const authorization = header('authorization');
  const viaQuery = query.some((p) => p.name === 'X-Amz-Algorithm');
  if (authorization !== undefined && viaQuery) {
    return fail('InvalidArgument', 400, 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified');
  }
  if (authorization === undefined && !viaQuery) return fail('AccessDenied', 403, 'Access Denied');

  let credential: string;
  let signedHeaderList: string;
  let provided: string;
  let amzDate: string | undefined;
  let payloadHash: string;
  let expiresS: number | undefined;
  if (authorization !== undefined) {
    const m = /^(\S+) (.*)$/s.exec(authorization.trim());
    if (!m || m[1] !== ALGORITHM) return fail('InvalidRequest', 400, `The authorization mechanism you have provided is not supported. Please use ${ALGORITHM}.`);
    const parsed = authHeaderSchema.safeParse(parseAuthParams(m[2] as string));
    if (!parsed.success) return fail('AuthorizationHeaderMalformed', 400, `The authorization header is malformed; ${parsed.error.issues[0]?.message ?? 'it cannot be parsed'}`);
    ({ Credential: credential, SignedHeaders: signedHeaderList, Signature: provided } = parsed.data);
    amzDate = header('x-amz-date');
    const declared = header('x-amz-content-sha256');
    if (declared === undefined) return fail('InvalidRequest', 400, 'Missing required header for this request: x-amz-content-sha256');
    payloadHash = declared;
  } else {
    const found: Record<string, string> = {};
    for (const p of query) {
      if (!PRESIGN_PARAMS.includes(p.name)) continue;
      if (p.name in found) return fail('AuthorizationQueryParametersError', 400, `${p.name} is given more than once`);
      found[p.name] = p.value;
    }
    const parsed = presignSchema.safeParse(found);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail('AuthorizationQueryParametersError', 400, `Query-string authentication version 4 requires valid X-Amz-* parameters (${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'})`);
    }
    credential = parsed.data['X-Amz-Credential'];
    signedHeaderList = parsed.data['X-Amz-SignedHeaders'];
    provided = parsed.data['X-Amz-Signature'];
    amzDate = parsed.data['X-Amz-Date'];
    expiresS = parsed.data['X-Amz-Expires'];
    payloadHash = header('x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
  }

  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = credential.split('/') as [string, string, string, string, string];
  const secret = lookupSecret(opts.secrets, accessKeyId);
  if (secret === undefined) return fail('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId });
  const malformed = authorization !== undefined ? ('AuthorizationHeaderMalformed' as const) : ('AuthorizationQueryParametersError' as const);
  if (terminator !== 'aws4_request') return fail(malformed, 400, `Error parsing the credential: the terminator must be 'aws4_request', not '${terminator}'`);
  if (scopeService !== service) return fail(malformed, 400, `Error parsing the credential: the service '${scopeService}' is wrong; expecting '${service}'`);
  if (scopeRegion !== region) return fail(malformed, 400, `The region '${scopeRegion}' in the credential is wrong; expecting '${region}'`, { Region: region });

  const signedAt = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || signedAt === undefined) return fail('AccessDenied', 403, 'AWS authentication requires a valid Date or x-amz-date header');
  if (scopeDate !== amzDate.slice(0, 8)) return fail(malformed, 400, `Invalid credential date "${scopeDate}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  const now = opts.now.getTime();
  const skewDetails = { RequestTime: amzDate, ServerTime: opts.now.toISOString(), MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS) };
  if (expiresS === undefined) {
    if (Math.abs(now - signedAt) > MAX_SKEW_MS) return fail('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.', skewDetails);
  } else {
    if (signedAt - now > MAX_SKEW_MS) return fail('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.', skewDetails);
    if (now > signedAt + expiresS * 1000) return fail('AccessDenied', 403, 'Request has expired', { 'X-Amz-Expires': String(expiresS), Expires: new Date(signedAt + expiresS * 1000).toISOString(), ServerTime: opts.now.toISOString() });
  }

  if (!isHexPayloadHash(payloadHash) && payloadHash !== UNSIGNED_PAYLOAD && !isStreamingPayload(payloadHash)) {
    return fail('InvalidArgument', 400, 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-…, or a valid sha256 value.', { ArgumentName: 'x-amz-content-sha256', ArgumentValue: payloadHash });
  }

  const signedHeaders = signedHeaderList.split(';');
  const sorted = [...signedHeaders].sort();
  if (new Set(signedHeaders).size !== signedHeaders.length || sorted.some((h, i) => h !== signedHeaders[i])) {
    return fail(malformed, 400, 'SignedHeaders must be sorted and name each header once');
  }
  // S3 wants the host and every x-amz-* header covered; otherwise a signed request could be
  // replayed against another bucket or with other server-side options.
  const unsigned = [...headers.keys()].filter((h) => (h === 'host' || h.startsWith('x-amz-')) && !signedHeaders.includes(h));
  if (!signedHeaders.includes('host') && !unsigned.includes('host')) unsigned.unshift('host');
  if (unsigned.length) return fail('AccessDenied', 403, 'There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.join(', ') });

  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(rawPath),
    canonicalQueryString(expiresS === undefined ? query : query.filter((p) => p.name !== 'X-Amz-Signature')),
    ...signedHeaders.map((h) => `${h}:${canonicalHeaderValue(headers.get(h) ?? [])}`),
    '',
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const scope = `${scopeDate}/${scopeRegion}/${scopeService}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const expected = hmac(signingKey(secret, scopeDate, scopeRegion, scopeService), stringToSign);

  const matches = HEX_SHA256.test(provided) && timingSafeEqual(expected, Buffer.from(provided, 'hex'));
  if (!matches) {
    return fail('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
      AWSAccessKeyId: accessKeyId,
      StringToSign: stringToSign,
      SignatureProvided: provided,
      CanonicalRequest: canonicalRequest,
    });
  }
  return { ok: true, accessKeyId, via: expiresS === undefined ? 'header' : 'query', payloadHash };
}
