import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Access, declaredRoutes, routeKey } from '../src/http/access.ts';
import type { AppEnv } from '../src/http/types.ts';
import { type OrgRole, orgRoles, roleHas } from '../src/orgs/permissions.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import type { Client } from './support/client.ts';
import { Client as AnonClient } from './support/client.ts';
import { addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

/**
 * Enumerates every route the real app registers (not a hand-written list) and proves that each
 * role and tenant gets exactly what the permissions table says. A route added without an access
 * declaration fails the first test.
 */
let app: Hono<AppEnv> | undefined;
let s: TestServer;
let orgA: OrgRow;
let orgB: OrgRow;
const members = new Map<OrgRole, Client>();
let outsider: Client;
let plainUser: Client;
let instanceAdmin: Client;

function appRoutes(): { method: string; path: string }[] {
  const seen = new Set<string>();
  const out: { method: string; path: string }[] = [];
  for (const r of app!.routes) {
    if (r.method === 'ALL' || r.path.startsWith('/__test')) continue;
    const k = routeKey(r.method, r.path);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ method: r.method, path: r.path });
  }
  return out;
}

/** Fills path parameters: the org under test, and ids that exist nowhere. */
function fill(path: string, org: OrgRow): string {
  return path.replace(':orgSlug', org.slug).replace(/:([A-Za-z]+)/g, (_m, name: string) => `no-such-${name}-0000000000`);
}

async function call(c: Client, method: string, path: string) {
  if (method === 'GET') return c.get(path);
  return c.post(path, {});
}

beforeAll(async () => {
  s = await startTestServer({}, { extendApp: (a) => (app = a) });
  const ownerA = await createUser(s, { email: testEmail('matrix-owner-a', 'a'), totp: true });
  const ownerB = await createUser(s, { email: testEmail('matrix-owner-b', 'b'), totp: true });
  orgA = createOrg(s, ownerA.user, uniqueSlug('a'));
  orgB = createOrg(s, ownerB.user, uniqueSlug('b'));
  for (const role of orgRoles) {
    const u = role === 'owner' ? ownerA : await createUser(s, { email: testEmail(`matrix-${role}`, 'a'), totp: true });
    if (role !== 'owner') addMember(s, orgA, u.user, role);
    members.set(role, await signedInClient(s, u.user));
  }
  outsider = await signedInClient(s, ownerB.user);
  plainUser = await signedInClient(s, (await createUser(s, { email: testEmail('matrix-plain'), totp: true })).user);
  instanceAdmin = await signedInClient(s, (await createUser(s, { email: testEmail('matrix-admin'), instanceRole: 'admin', totp: true })).user);
});
afterAll(() => s?.close());

describe('route × role × tenant matrix', () => {
  it('every registered route declares its access', () => {
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThan(20);
    const undeclared = routes.filter((r) => !declaredRoutes.has(routeKey(r.method, r.path))).map((r) => routeKey(r.method, r.path));
    expect(undeclared).toEqual([]);
  });

  it('anonymous callers reach only public routes', async () => {
    for (const r of appRoutes()) {
      const access = declaredRoutes.get(routeKey(r.method, r.path)) as Access;
      const anon = new AnonClient(s.url);
      await anon.get('/login'); // a pre-session CSRF token, as a browser would have
      const res = await call(anon, r.method, fill(r.path, orgA));
      const label = `${r.method} ${r.path} (${access.kind})`;
      expect(res.status, label).toBeLessThan(500);
      if (access.kind === 'public') continue;
      if (access.kind === 'org' && access.api) expect(res.status, label).toBe(401);
      else {
        expect(res.status, label).toBe(303);
        expect(res.location ?? '', label).toMatch(/^\/login/);
      }
    }
  });

  it('instance-admin routes: 403 for other users, open to instance admins', async () => {
    const adminRoutes = appRoutes().filter((r) => declaredRoutes.get(routeKey(r.method, r.path))?.kind === 'instance-admin');
    for (const r of adminRoutes) {
      const label = `${r.method} ${r.path}`;
      expect((await call(plainUser, r.method, fill(r.path, orgA))).status, label).toBe(403);
      expect((await call(members.get('owner')!, r.method, fill(r.path, orgA))).status, label).toBe(403);
      const ok = await call(instanceAdmin, r.method, fill(r.path, orgA));
      expect([401, 403], label).not.toContain(ok.status);
      expect(ok.status, label).toBeLessThan(500);
    }
  });

  it('org routes follow the permissions table for every role; other tenants get 404', async () => {
    const orgRoutes = appRoutes().filter((r) => declaredRoutes.get(routeKey(r.method, r.path))?.kind === 'org');
    expect(orgRoutes.length).toBeGreaterThan(5);
    // GETs first, so POSTs (which may change org state) come last and cannot hide a GET result.
    orgRoutes.sort((a, b) => (a.method === b.method ? 0 : a.method === 'GET' ? -1 : 1));
    for (const r of orgRoutes) {
      const access = declaredRoutes.get(routeKey(r.method, r.path)) as Extract<Access, { kind: 'org' }>;
      const path = fill(r.path, orgA);
      for (const role of orgRoles) {
        const res = await call(members.get(role)!, r.method, path);
        const label = `${role} ${r.method} ${r.path} needs ${access.permission}`;
        expect(res.status, label).toBeLessThan(500);
        if (roleHas(role, access.permission)) expect([401, 403], label).not.toContain(res.status);
        else expect(res.status, label).toBe(403);
      }
      // The owner of another organization: as if org A did not exist.
      const foreign = await call(outsider, r.method, path);
      expect(foreign.status, `outsider ${r.method} ${r.path}`).toBe(404);
      // And org A's members cannot reach org B.
      const cross = await call(members.get('owner')!, r.method, fill(r.path, orgB));
      expect(cross.status, `org A owner on org B ${r.method} ${r.path}`).toBe(404);
    }
    const denied = s.ctx.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE action = 'access.denied'`).get() as { n: number };
    expect(denied.n).toBeGreaterThan(orgRoutes.length);
  });
});
