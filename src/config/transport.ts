/**
 * Outbound TLS policy (ASVS V12.3.1): mail, SMS and backups leave the machine encrypted unless the
 * operator says otherwise with --allow-insecure-transport. Loopback endpoints are the exception:
 * a local MTA relay, an SMS gateway or MinIO on the same host is reached without the traffic
 * ever leaving the machine, so TLS would protect nothing there (and the test suite's SMTP sink,
 * SMS stub and s3rver are such endpoints).
 */
export const INSECURE_CHANNELS = ['smtp', 'sms', 's3'] as const;
export type InsecureChannel = (typeof INSECURE_CHANNELS)[number];

/** The part of the config this policy reads; loadConfig checks it before handing the config out. */
export interface TransportSettings {
  smtpUrl?: string | undefined;
  smsUrl?: string | undefined;
  backupS3Endpoint?: string | undefined;
  allowInsecureTransport: readonly InsecureChannel[];
}

/** URL hostnames as WHATWG URL gives them: IPv6 in brackets. Names are not resolved: only literal loopback counts. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h === '[::1]' || /^127(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(h);
}

/** host[:port], never the credentials a URL may carry. */
function where(u: URL): string {
  return u.port ? `${u.hostname}:${u.port}` : u.hostname;
}

/**
 * A TLS parameter in the SMTP URL would override ours (nodemailer lets URL options win over the
 * options we pass), so `?ignoreTLS=true` or `?tls.rejectUnauthorized=false` is refused.
 */
export function smtpUrlWeakensTls(url: string): boolean {
  const u = new URL(url);
  return [...u.searchParams.keys()].some((k) => /^(?:ignoretls|requiretls|opportunistictls|secure|tls\.|tls$)/i.test(k));
}

/** smtp:// to another host must upgrade with STARTTLS or fail; smtps:// is TLS from the first byte. */
export function smtpRequiresTls(cfg: TransportSettings): boolean {
  if (cfg.smtpUrl === undefined) return false;
  const u = new URL(cfg.smtpUrl);
  return u.protocol === 'smtp:' && !isLoopbackHost(u.hostname) && !cfg.allowInsecureTransport.includes('smtp');
}

/** One line for loadConfig's error, or undefined when the http(s) endpoint is acceptable. */
export function plaintextEndpointError(url: string | undefined, channel: 'sms' | 's3', cfg: TransportSettings): string | undefined {
  if (url === undefined) return undefined;
  const u = new URL(url);
  if (u.protocol !== 'http:' || isLoopbackHost(u.hostname) || cfg.allowInsecureTransport.includes(channel)) return undefined;
  const what = channel === 'sms' ? 'the auth token and sign-in codes' : 'the signed backup requests';
  const peer = channel === 'sms' ? 'a provider' : 'a server';
  return `must be https:// (http:// sends ${what} in plaintext); for ${peer} without TLS add --allow-insecure-transport=${channel}`;
}

export interface PlaintextTransport {
  channel: InsecureChannel;
  /** host[:port] */
  target: string;
  /** true: never leaves the machine (no flag needed); false: allowed by --allow-insecure-transport */
  loopback: boolean;
}

/**
 * Every configured channel that may carry data without TLS, for the start-up warning and
 * `tessera doctor`. smtp:// with STARTTLS required is not listed: it fails rather than fall back.
 */
export function plaintextTransports(cfg: TransportSettings): PlaintextTransport[] {
  const out: PlaintextTransport[] = [];
  if (cfg.smtpUrl !== undefined) {
    const u = new URL(cfg.smtpUrl);
    if (u.protocol === 'smtp:' && !smtpRequiresTls(cfg)) out.push({ channel: 'smtp', target: where(u), loopback: isLoopbackHost(u.hostname) });
  }
  if (cfg.smsUrl !== undefined) {
    const u = new URL(cfg.smsUrl);
    if (u.protocol === 'http:') out.push({ channel: 'sms', target: where(u), loopback: isLoopbackHost(u.hostname) });
  }
  if (cfg.backupS3Endpoint !== undefined) {
    const u = new URL(cfg.backupS3Endpoint);
    if (u.protocol === 'http:') out.push({ channel: 's3', target: where(u), loopback: isLoopbackHost(u.hostname) });
  }
  return out;
}
