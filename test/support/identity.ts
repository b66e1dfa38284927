import { randomBytes } from 'node:crypto';
import { systemContext } from '../../src/audit/service.ts';
import { hashPassword } from '../../src/auth/password.ts';
import { type UserRow, authRepo } from '../../src/auth/repo.ts';
import { generateTotpSecret, totpCodeAt } from '../../src/auth/totp.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import { type OrgRow, orgsRepo } from '../../src/orgs/repo.ts';
import { Client } from './client.ts';
import { PERSON_SURNAME } from './people.ts';
import type { TestServer } from './server.ts';

/** A moving clock for tests: sessions, throttles and TOTP all read ctx.now(). */
export class Clock {
  t = Date.now();
  now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestUser {
  user: UserRow;
  password: string;
  totpSecret: string | null;
}

let seq = 0;
let cachedHash: { password: string; hash: string } | undefined;

/**
 * Creates an account directly through the services (fast: one argon2 hash per test run is
 * reused). `totp: true` gives it an enabled authenticator whose secret the test knows.
 */
export async function createUser(s: TestServer, opts: { email: string; name?: string; instanceRole?: 'owner' | 'admin' | null; totp?: boolean; verified?: boolean }): Promise<TestUser> {
  const password = 'correct horse battery staple 42';
  if (!cachedHash) cachedHash = { password, hash: await hashPassword(password) };
  const ctx = s.ctx;
  const id = ctx.db.transaction(() => ctx.auth.insertUser({ email: opts.email, name: opts.name ?? `Test ${PERSON_SURNAME} ${++seq}`, hash: cachedHash!.hash, instanceRole: opts.instanceRole ?? null, verified: opts.verified ?? true })).immediate();
  let totpSecret: string | null = null;
  if (opts.totp) {
    totpSecret = generateTotpSecret();
    authRepo(ctx.db).setPendingTotp(id, totpSecret);
    authRepo(ctx.db).enableTotp(id, new Date(ctx.now()).toISOString(), 0);
  }
  return { user: ctx.auth.user(id)!, password, totpSecret };
}

/**
 * An organization for a test about something else: it does not require 2FA (unlike the product's
 * default for new organizations, tested in admin-settings.test.ts), so members set up without an
 * authenticator can work in it. Pass `require2fa` to get the other kind.
 */
export function createOrg(s: TestServer, owner: UserRow, slug: string, name = `Org ${slug}`, opts: { require2fa?: boolean } = {}): OrgRow {
  const r = s.ctx.orgs.createOrg(owner, { name, slug, require2fa: opts.require2fa ?? false }, systemContext());
  if (!r.ok) throw new Error(r.message);
  return r.org;
}

export function addMember(s: TestServer, org: OrgRow, user: UserRow, role: OrgRole): void {
  orgsRepo(s.ctx.db).insertMembership({ org_id: org.id, user_id: user.id, role, event_scope: null, created_at: new Date().toISOString() });
}

/** A client holding a fully signed-in session for the user (no HTTP login round trip). */
export async function signedInClient(s: TestServer, u: UserRow, opts: { reauth?: boolean } = {}): Promise<Client> {
  const { token } = s.ctx.sessions.create(u.id, { mfaPending: false, ip: '127.0.0.1', userAgent: 'test', reauth: opts.reauth ?? true });
  const c = new Client(s.url);
  c.cookies.set('__Host-tessera_session', token);
  await c.get('/account');
  return c;
}

/** Signs in through the real pages: password, then TOTP (clock moved to a fresh step). */
export async function loginViaHttp(s: TestServer, t: TestUser, clock?: Clock): Promise<Client> {
  const c = new Client(s.url);
  await c.get('/login');
  const r = await c.post('/login', { email: t.user.email, password: t.password });
  if (r.status !== 303) throw new Error(`login failed: ${r.status} ${r.text.slice(0, 200)}`);
  if (t.totpSecret) {
    clock?.advance(30_000);
    await c.get('/login/2fa');
    const r2 = await c.post('/login/2fa', { code: totpCodeAt(t.totpSecret, s.ctx.now()) });
    if (r2.status !== 303) throw new Error(`2fa failed: ${r2.status}`);
  }
  await c.get('/account');
  return c;
}

export const uniqueSlug = (p = 'org') => `${p}-${randomBytes(4).toString('hex')}`;
