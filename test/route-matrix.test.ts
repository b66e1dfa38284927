import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Access, routeKey } from '../src/http/route-permissions.ts';
import { staticUrl } from '../src/http/static.ts';
import type { AppEnv } from '../src/http/types.ts';
import { type OrgRole, orgRoles, roleHas } from '../src/orgs/permissions.ts';
import { Client, type Resp } from './support/client.ts';
import { addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type Tenant, createTenant, newApiToken, newField, newIncident, newInvitation, newMember, newPrivacyRequest, newRegistration, newShareLink, tenantState } from './support/tenant.ts';

/**
 * Enumerates every route the real app registers (not a hand-written list) and proves that each
 * role and tenant gets exactly what the permissions table says, with path parameters filled by
 * real objects of two organizations: org A's own ids must work for the roles that hold the
 * permission, and org B's real ids (event, field, share link, registration, member, invitation,
 * token) must answer 404 inside org A and leave org B unchanged.
 */
let app: Hono<AppEnv> | undefined;
let s: TestServer;
let A: Tenant;
let B: Tenant;
const members = new Map<OrgRole, Client>();
/** A signed-in user who belongs to no organization. */
let noOrgUser: Client;
/** Org B's owner: a member, but of another organization. */
let ownerB: Client;
let instanceAdmin: Client;
let staticFile: string;

type Route = { method: string; path: string; access: Access };
type OrgRoute = Route & { access: Extract<Access, { kind: 'org' }> };

function appRoutes(): Route[] {
  const seen = new Set<string>();
  const out: Route[] = [];
  for (const r of app!.routes) {
    if (r.method === 'ALL' || r.path.startsWith('/__test')) continue;
    const k = routeKey(r.method, r.path);
    if (seen.has(k)) continue;
    seen.add(k);
    const access = s.routes.declared.get(k);
    if (access) out.push({ method: r.method, path: r.path, access });
  }
  return out;
}
const orgRoutes = () => appRoutes().filter((r): r is OrgRoute => r.access.kind === 'org');

// ---- path parameters ---------------------------------------------------------------------------

/** What a path parameter names. Hono names some of them only `:id` or `:token`: the segment before tells which. */
type ParamKind =
  | 'orgSlug'
  | 'eventId'
  | 'fieldId'
  | 'linkId'
  | 'regId'
  | 'userId'
  | 'invitationId'
  | 'tokenId'
  | 'eventSlug'
  | 'shareToken'
  | 'manageToken'
  | 'confirmToken'
  | 'staticFile'
  | 'accountUserId'
  | 'sessionId'
  | 'adminOrgId'
  | 'auditSeq'
  | 'requestId'
  | 'incidentId';

const paramNames = (path: string) => [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);

/** The kind of a route's parameter, or undefined when this test has no real object for it (which fails the test). */
function paramKind(path: string, name: string): ParamKind | undefined {
  const before = path.slice(0, path.indexOf(`:${name}`));
  switch (name) {
    case 'orgSlug':
    case 'eventId':
    case 'fieldId':
    case 'linkId':
    case 'regId':
    case 'userId':
    case 'requestId':
    case 'incidentId':
      return name;
    case 'id':
      if (before.endsWith('/invitations/')) return 'invitationId'; // also /admin/invitations/:id
      if (before.endsWith('/tokens/')) return 'tokenId';
      if (before === '/admin/users/') return 'accountUserId';
      if (before === '/account/sessions/') return 'sessionId';
      return undefined;
    case 'orgId':
      return before === '/admin/orgs/' ? 'adminOrgId' : undefined;
    case 'seq':
      return before.endsWith('/audit/entries/') ? 'auditSeq' : undefined;
    case 'slug':
      return before === '/e/' ? 'eventSlug' : undefined;
    case 'token':
      if (before === '/s/') return 'shareToken';
      if (before === '/r/') return path.endsWith('/confirm') ? 'confirmToken' : 'manageToken';
      return undefined;
    case 'file':
      return before === '/static/' ? 'staticFile' : undefined;
    default:
      return undefined;
  }
}

/** Parameters whose object a successful unsafe request uses up (removes, revokes, cancels, checks in, disables). */
const consumable: ReadonlySet<ParamKind> = new Set(['fieldId', 'linkId', 'regId', 'userId', 'invitationId', 'tokenId', 'manageToken', 'confirmToken', 'accountUserId', 'sessionId', 'adminOrgId', 'requestId', 'incidentId']);

/** The tenant's shared object of each kind. */
function sharedId(t: Tenant, kind: ParamKind): string {
  const ids: Record<ParamKind, () => string> = {
    orgSlug: () => t.org.slug,
    eventId: () => t.event.id,
    fieldId: () => t.field.id,
    linkId: () => t.link.id,
    regId: () => t.reg.id,
    userId: () => t.member.id,
    invitationId: () => t.invitationId,
    tokenId: () => t.token.id,
    eventSlug: () => t.event.slug,
    shareToken: () => t.link.token,
    manageToken: () => s.ctx.links.managePath(t.reg).slice('/r/'.length),
    confirmToken: () => confirmToken(t.reg),
    staticFile: () => staticFile,
    accountUserId: () => t.member.id,
    sessionId: () => s.ctx.sessions.list(t.owner.user.id)[0]!.id,
    adminOrgId: () => t.org.id,
    // An entry of the tenant's own audit log (the oldest: its org.created row).
    auditSeq: () => String(s.ctx.db.prepare('SELECT min(seq) FROM audit_log WHERE org_id = ?').pluck().get(t.org.id)),
    requestId: () => t.requestId,
    incidentId: () => t.incidentId,
  };
  return ids[kind]();
}

function confirmToken(reg: Tenant['reg']): string {
  return s.ctx.links.link(reg, 'confirm').replace(/^.*\/r\//, '').replace(/\/confirm$/, '');
}

/**
 * A new object of the kind in org A, for one unsafe request: each role's "remove this field" or
 * "revoke this token" then acts on a row that exists, instead of the second role finding the
 * first role's already removed one.
 */
async function freshId(t: Tenant, kind: ParamKind): Promise<string> {
  switch (kind) {
    case 'fieldId':
      return newField(t).id;
    case 'linkId':
      return (await newShareLink(t)).id;
    case 'regId':
      return (await newRegistration(t)).id;
    case 'manageToken':
      return s.ctx.links.managePath(await newRegistration(t)).slice('/r/'.length);
    case 'confirmToken':
      return confirmToken(await newRegistration(t));
    case 'userId':
      return (await newMember(t)).id;
    case 'invitationId':
      return newInvitation(t);
    case 'requestId':
      return newPrivacyRequest(t);
    case 'incidentId':
      return newIncident(t);
    case 'tokenId':
      return newApiToken(t).id;
    case 'accountUserId':
      return (await createUser(s, { email: testEmail(`matrix-target-${Math.random().toString(36).slice(2)}`), totp: true })).user.id;
    case 'adminOrgId':
      // Suspending or renaming org A itself would change what every later request sees.
      return createOrg(s, t.owner.user, uniqueSlug('matrix-org')).id;
    case 'sessionId': {
      const u = await createUser(s, { email: testEmail(`matrix-sess-${Math.random().toString(36).slice(2)}`), totp: true });
      return s.ctx.sessions.create(u.user.id, { mfaPending: false, ip: '127.0.0.1', userAgent: 'test' }).session.id;
    }
    default:
      return sharedId(t, kind);
  }
}

/**
 * The path with every parameter filled from a tenant: `ids` names the tenant per parameter (org A
 * by default), and unsafe methods get a fresh object in place of a consumable one of org A.
 */
async function fill(r: { method: string; path: string }, ids: Partial<Record<string, Tenant>> = {}): Promise<string> {
  let out = r.path;
  for (const name of paramNames(r.path)) {
    const kind = paramKind(r.path, name);
    if (!kind) throw new Error(`${routeKey(r.method, r.path)}: no real object for :${name}; add it to paramKind and the tenant fixture`);
    const t = ids[name] ?? A;
    const value = r.method !== 'GET' && t === A && consumable.has(kind) ? await freshId(t, kind) : sharedId(t, kind);
    out = out.replace(`:${name}`, value);
  }
  return out;
}

/** Bodies for the few routes that validate their form before they look the object up: with an empty form they would answer 400 before the lookup that matters here. */
const bodies: Record<string, Record<string, string>> = {
  'POST /orgs/:orgSlug/members/:userId/role': { role: 'viewer' },
  'POST /orgs/:orgSlug/members/:userId/scope': { mode: 'all' },
};

function call(c: Client, method: string, routePath: string, path: string): Promise<Resp> {
  if (method === 'GET') return c.get(path);
  return c.post(path, bodies[routeKey(method, routePath)] ?? {});
}

/** Runs the jobs with at most `limit` in flight: fast on two cores without flooding the server. */
async function pool<T>(limit: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let i = 0;
  const worker = async () => {
    while (i < jobs.length) {
      const k = i++;
      out[k] = await jobs[k]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}
const CONCURRENCY = 6;

type Outcome = { label: string; status: number; expected: string; ok: boolean };
/** Collects every mismatch so one run lists all broken routes, not only the first. */
const failures = (outcomes: Outcome[]) => outcomes.filter((o) => !o.ok).map((o) => `${o.label}: got ${o.status}, expected ${o.expected}`);

const auditCount = (action: string) => (s.ctx.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE action = ?`).get(action) as { n: number }).n;

beforeAll(async () => {
  s = await startTestServer({}, { extendApp: (a) => (app = a) });
  A = await createTenant(s, 'a');
  B = await createTenant(s, 'b');
  staticFile = staticUrl('app.css').slice('/static/'.length);
  // Both organizations have a colour and a logo, so a branding write into org B would show in its state.
  const logo = fs.readFileSync(new URL('./fixtures/logos/logo.png', import.meta.url));
  for (const t of [A, B]) {
    s.ctx.branding.setAccent(t.org, '#7b1fa2', { actor: { type: 'system' } });
    s.ctx.branding.setLogo(t.org, logo, { actor: { type: 'system' } });
  }
  for (const role of orgRoles) {
    const u = role === 'owner' ? A.owner : await createUser(s, { email: testEmail(`matrix-${role}`, 'a'), totp: true });
    if (role !== 'owner') addMember(s, A.org, u.user, role);
    members.set(role, await signedInClient(s, u.user));
  }
  ownerB = await signedInClient(s, B.owner.user);
  noOrgUser = await signedInClient(s, (await createUser(s, { email: testEmail('matrix-plain'), totp: true })).user);
  instanceAdmin = await signedInClient(s, (await createUser(s, { email: testEmail('matrix-admin'), instanceRole: 'admin', totp: true })).user);
});
afterAll(() => s?.close());

describe('route × role × tenant matrix', () => {
  it('every registered route declares its access and has a real object for each path parameter', () => {
    const all = app!.routes.filter((r) => r.method !== 'ALL' && !r.path.startsWith('/__test'));
    expect(all.length).toBeGreaterThan(20);
    const undeclared = all.filter((r) => !s.routes.declared.has(routeKey(r.method, r.path))).map((r) => routeKey(r.method, r.path));
    expect(undeclared).toEqual([]);
    const unknown = appRoutes().flatMap((r) => paramNames(r.path).filter((n) => !paramKind(r.path, n)).map((n) => `${routeKey(r.method, r.path)} :${n}`));
    expect(unknown).toEqual([]);
    // The kinds the issue names are all in use, so the cross-tenant test below exercises each.
    const used = new Set(appRoutes().flatMap((r) => paramNames(r.path).map((n) => paramKind(r.path, n))));
    for (const k of ['eventId', 'fieldId', 'linkId', 'regId', 'userId', 'invitationId', 'tokenId'] as const) expect(used.has(k), k).toBe(true);
  });

  it('anonymous callers reach only public routes', async () => {
    const anon = new Client(s.url);
    await anon.get('/login'); // a pre-session CSRF token, as a browser would have
    const outcomes = await pool(
      CONCURRENCY,
      appRoutes().map((r) => async (): Promise<Outcome> => {
        // Logging out or a public POST must not change the cookie the other requests send.
        const c = new Client(s.url);
        for (const [k, v] of anon.cookies) c.cookies.set(k, v);
        c.csrf = anon.csrf;
        const res = await call(c, r.method, r.path, await fill(r));
        const label = `anonymous ${r.method} ${r.path} (${r.access.kind})`;
        if (res.status >= 500) return { label, status: res.status, expected: '< 500', ok: false };
        if (r.access.kind === 'public') return { label, status: res.status, expected: 'any', ok: true };
        if (r.access.kind === 'org' && r.access.api) return { label, status: res.status, expected: '401', ok: res.status === 401 };
        return { label, status: res.status, expected: '303 to /login', ok: res.status === 303 && (res.location ?? '').startsWith('/login') };
      }),
    );
    expect(failures(outcomes)).toEqual([]);
  });

  it('instance-admin routes: 403 for other users, open to instance admins', async () => {
    const adminRoutes = appRoutes().filter((r) => r.access.kind === 'instance-admin');
    expect(adminRoutes.length).toBeGreaterThan(3);
    const outcomes = await pool(
      CONCURRENCY,
      adminRoutes.flatMap((r) => [
        async (): Promise<Outcome> => {
          const res = await call(noOrgUser, r.method, r.path, await fill(r));
          return { label: `plain user ${r.method} ${r.path}`, status: res.status, expected: '403', ok: res.status === 403 };
        },
        async (): Promise<Outcome> => {
          const res = await call(members.get('owner')!, r.method, r.path, await fill(r));
          return { label: `org owner ${r.method} ${r.path}`, status: res.status, expected: '403', ok: res.status === 403 };
        },
        async (): Promise<Outcome> => {
          const res = await call(instanceAdmin, r.method, r.path, await fill(r));
          return { label: `instance admin ${r.method} ${r.path}`, status: res.status, expected: 'not 401/403/404, < 500', ok: ![401, 403, 404].includes(res.status) && res.status < 500 };
        },
      ]),
    );
    expect(failures(outcomes)).toEqual([]);
  });

  it("each role of org A, on org A's own real objects, gets what the permissions table says", async () => {
    const routes = orgRoutes();
    expect(routes.length).toBeGreaterThan(40);
    const deniedBefore = auditCount('access.denied');
    const run = (subset: OrgRoute[]) =>
      pool(
        CONCURRENCY,
        subset.flatMap((r) =>
          orgRoles.map((role) => async (): Promise<Outcome> => {
            const res = await call(members.get(role)!, r.method, r.path, await fill(r));
            const label = `${role} ${r.method} ${r.path} needs ${r.access.permission}`;
            if (res.status >= 500) return { label, status: res.status, expected: '< 500', ok: false };
            // Allowed: anything but a refusal or a miss (400, 409, 422 for the empty form are fine).
            if (roleHas(role, r.access.permission)) return { label, status: res.status, expected: 'not 401/403/404', ok: ![401, 403, 404].includes(res.status) };
            return { label, status: res.status, expected: '403', ok: res.status === 403 };
          }),
        ),
      );
    // Reads first, then writes: a write (even a refused one) cannot hide what a read would show.
    const outcomes = [...(await run(routes.filter((r) => r.method === 'GET'))), ...(await run(routes.filter((r) => r.method !== 'GET')))];
    expect(failures(outcomes)).toEqual([]);
    const refusals = outcomes.filter((o) => o.expected === '403').length;
    expect(refusals).toBeGreaterThan(routes.length);
    // Every refusal is audited, once.
    expect(auditCount('access.denied') - deniedBefore).toBe(refusals);
    console.info(`matrix: ${outcomes.length} requests by org A's roles on org A`);
  });

  it("org B's real objects answer 404 inside org A, for every role, and org B is unchanged", async () => {
    // Routes naming an object besides the organization; each is tried with one of org B's ids at
    // a time in org A's path (the others org A's own), and with all of them org B's.
    const routes = orgRoutes().filter((r) => paramNames(r.path).length > 1);
    expect(routes.length).toBeGreaterThan(20);
    let requests = 0;
    const all: Outcome[] = [];
    const wroteIntoB: string[] = [];
    for (const r of routes) {
      const names = paramNames(r.path).filter((n) => n !== 'orgSlug');
      const variants: Partial<Record<string, Tenant>>[] = names.map((n) => ({ [n]: B }));
      if (names.length > 1) variants.push(Object.fromEntries(names.map((n) => [n, B])));
      const before = tenantState(s, B.org.id);
      const outcomes = await pool(
        CONCURRENCY,
        variants.flatMap((v) =>
          orgRoles.map((role) => async (): Promise<Outcome> => {
            const res = await call(members.get(role)!, r.method, r.path, await fill(r, v));
            const label = `${role} ${r.method} ${r.path} with org B's ${Object.keys(v).join('+')}`;
            // A role without the permission is refused before any lookup, the same for every id.
            if (!roleHas(role, r.access.permission)) return { label, status: res.status, expected: '403', ok: res.status === 403 };
            return { label, status: res.status, expected: '404', ok: res.status === 404 };
          }),
        ),
      );
      requests += outcomes.length;
      all.push(...outcomes);
      // Compared per route, so a leak names the route that wrote into org B.
      if (!isDeepStrictEqual(tenantState(s, B.org.id), before)) wroteIntoB.push(routeKey(r.method, r.path));
    }
    expect(failures(all)).toEqual([]);
    expect(wroteIntoB).toEqual([]);
    // Org B's objects are all still there and untouched by the attempts.
    expect(s.ctx.events.field(B.event, B.field.id)).toBeDefined();
    expect(s.ctx.events.shareLinks(B.event).find((l) => l.id === B.link.id)?.revoked_at).toBeNull();
    expect(s.ctx.registrations.get(B.event, B.reg.id)).toMatchObject({ status: 'confirmed', checked_in_at: null });
    expect(s.ctx.orgs.openInvitations(B.org.id).some((i) => i.id === B.invitationId)).toBe(true);
    expect(s.ctx.orgs.tokens(B.org.id).find((t) => t.id === B.token.id)?.revoked_at).toBeNull();
    expect(s.ctx.orgs.members(B.org.id).find((m) => m.user_id === B.member.id)).toMatchObject({ role: 'viewer', disabled_at: null });
    console.info(`matrix: ${requests} requests with org B's ids in org A's paths`);
  });

  it("org A's members on org B's slug, and outsiders on org A's, get 404 and change nothing", async () => {
    const routes = orgRoutes();
    const beforeB = tenantState(s, B.org.id);
    const beforeA = tenantState(s, A.org.id);
    const everyB = (r: OrgRoute) => Object.fromEntries(paramNames(r.path).map((n) => [n, B]));
    const outcomes = await pool(CONCURRENCY, [
      ...routes.flatMap((r) =>
        orgRoles.map((role) => async (): Promise<Outcome> => {
          const res = await call(members.get(role)!, r.method, r.path, await fill(r, everyB(r)));
          return { label: `org A ${role} on org B: ${r.method} ${r.path}`, status: res.status, expected: '404', ok: res.status === 404 };
        }),
      ),
      ...routes.flatMap((r) =>
        (
          [
            ['user of no organization', noOrgUser],
            ["org B's owner", ownerB],
          ] as const
        ).map(([who, c]) => async (): Promise<Outcome> => {
          // Org A's shared objects, never fresh ones: nothing of org A may change.
          const path = paramNames(r.path).reduce((p, n) => p.replace(`:${n}`, sharedId(A, paramKind(r.path, n)!)), r.path);
          const res = await call(c, r.method, r.path, path);
          return { label: `${who} on org A: ${r.method} ${r.path}`, status: res.status, expected: '404', ok: res.status === 404 };
        }),
      ),
    ]);
    expect(failures(outcomes)).toEqual([]);
    expect(tenantState(s, B.org.id)).toEqual(beforeB);
    expect(tenantState(s, A.org.id)).toEqual(beforeA);
    console.info(`matrix: ${outcomes.length} requests across the tenant boundary by slug`);
  });

  it("an API token works only for its own organization's API and permissions", async () => {
    const api = orgRoutes().filter((r) => r.access.api);
    expect(api.length).toBeGreaterThan(0);
    const bearer = new Client(s.url, { authorization: `Bearer ${A.token.bearer}` });
    for (const r of api) {
      const own = await bearer.get(await fill(r));
      // The token carries org.read only.
      expect(own.status, `own ${r.path}`).toBe(r.access.permission === 'org.read' ? 200 : 403);
      expect((await bearer.get(await fill(r, { orgSlug: B }))).status, `org B ${r.path}`).toBe(404);
    }
    // And a token is no session: the HTML pages do not take it.
    expect((await bearer.get(`/orgs/${A.org.slug}`)).status).toBe(401);
  });
});
