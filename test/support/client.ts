/**
 * A tiny browser stand-in for route tests: keeps cookies, follows nothing by itself, and reads
 * the CSRF token from the last HTML page (meta tag or hidden field) like a form would send it.
 */
export interface Resp {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

export class Client {
  readonly cookies = new Map<string, string>();
  csrf = '';
  constructor(
    readonly base: string,
    readonly extraHeaders: Record<string, string> = {},
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private absorb(res: Response): void {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = (pair ?? '').indexOf('=');
      const name = (pair ?? '').slice(0, eq).trim();
      const value = (pair ?? '').slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0/i.test(a) || /expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(method: string, path: string, opts: { form?: Record<string, string | string[]>; headers?: Record<string, string>; body?: string | FormData } = {}): Promise<Resp> {
    const headers: Record<string, string> = { ...this.extraHeaders, ...opts.headers };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    let body: string | FormData | undefined = opts.body;
    if (opts.form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
      if (!('_csrf' in opts.form) && this.csrf) p.set('_csrf', this.csrf);
      body = p.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, body, redirect: 'manual' });
    this.absorb(res);
    const text = await res.text();
    const m = /<meta name="csrf-token" content="([^"]+)"/.exec(text) ?? /name="_csrf" value="([^"]+)"/.exec(text);
    if (m?.[1]) this.csrf = m[1];
    return { status: res.status, headers: res.headers, text, location: res.headers.get('location') };
  }

  get(path: string, headers?: Record<string, string>): Promise<Resp> {
    return this.request('GET', path, { headers });
  }

  post(path: string, form: Record<string, string | string[]> = {}, headers?: Record<string, string>): Promise<Resp> {
    return this.request('POST', path, { form, headers });
  }

  /** A multipart form with one file, as a browser's file upload sends it (fetch sets the boundary). */
  upload(path: string, field: string, file: { bytes: Uint8Array; filename: string; type: string }, fields: Record<string, string> = {}): Promise<Resp> {
    const form = new FormData();
    if (this.csrf) form.set('_csrf', this.csrf);
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    form.set(field, new File([new Uint8Array(file.bytes)], file.filename, { type: file.type }));
    return this.request('POST', path, { body: form });
  }

  /** GET, then follow redirects (same origin) up to 5 times. */
  async follow(path: string): Promise<Resp> {
    let r = await this.get(path);
    for (let i = 0; i < 5 && r.location && r.status >= 300 && r.status < 400; i++) r = await this.get(r.location.replace(this.base, ''));
    return r;
  }
}

/** A Client that keeps every response (headers and body), so a test can prove a secret never came back. */
export class RecordingClient extends Client {
  constructor(
    base: string,
    readonly bodies: string[],
  ) {
    super(base);
  }
  override async request(method: string, path: string, opts: Parameters<Client['request']>[2] = {}): Promise<Resp> {
    const r = await super.request(method, path, opts);
    this.bodies.push(`${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${r.text}`);
    return r;
  }
}
