/**
 * Offline check of the production dependency tree against known vulnerabilities (ASVS V15.2.1).
 * The registry's audit endpoints answer 405 from these machines and osv.dev is unreachable, so the
 * advisories are vendored in OSV format (security/osv-npm.json) and matched against
 * package-lock.json here. Keep to erasable TypeScript: build.mjs and CI run it with Node's own
 * type stripping.
 */
export type OsvEvent = { introduced: string } | { fixed: string } | { last_affected: string };
export interface OsvAffected {
  package: { ecosystem: string; name: string };
  ranges?: { type: string; events: OsvEvent[] }[];
  versions?: string[];
}
export interface OsvAdvisory {
  id: string;
  summary?: string;
  database_specific?: { severity?: string };
  affected: OsvAffected[];
}
export interface AdvisoryDb {
  generated: string;
  source: string;
  advisories: OsvAdvisory[];
}
interface LockEntry {
  version?: string;
  name?: string;
  dev?: boolean;
  link?: boolean;
}
export interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}
export interface Finding {
  name: string;
  version: string;
  id: string;
  severity: string;
  summary: string;
  fixed: string[];
}

/** name → versions installed for production (lockfile v2/v3 "packages"). devOptional counts as production. */
export function productionPackages(lock: Lockfile): Map<string, Set<string>> {
  if (!lock.packages || lock.lockfileVersion < 2) throw new Error('package-lock.json must be lockfileVersion 2 or 3 (npm 7 or newer)');
  const out = new Map<string, Set<string>>();
  for (const [p, e] of Object.entries(lock.packages)) {
    if (p === '' || e.dev === true || e.link === true || e.version === undefined) continue;
    const name = e.name ?? p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const set = out.get(name) ?? new Set<string>();
    set.add(e.version);
    out.set(name, set);
  }
  return out;
}

interface Semver {
  nums: [number, number, number];
  pre: string[];
}

function parse(v: string): Semver {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$/.exec(v.trim());
  if (!m) throw new Error(`not a semantic version: ${v}`);
  return { nums: [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)], pre: m[4] ? m[4].split('.') : [] };
}

/** Semantic Versioning 2.0.0 precedence: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] as number) - (y.nums[i] as number);
    if (d !== 0) return Math.sign(d);
  }
  // A release sorts after its pre-releases (1.0.0-rc.1 < 1.0.0).
  if (x.pre.length === 0 && y.pre.length === 0) return 0;
  if (x.pre.length === 0) return 1;
  if (y.pre.length === 0) return -1;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn && Number(p) !== Number(q)) return Math.sign(Number(p) - Number(q));
    if (pn !== qn) return pn ? -1 : 1;
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

const eventVersion = (e: OsvEvent) => ('introduced' in e ? e.introduced : 'fixed' in e ? e.fixed : e.last_affected);

/** OSV's own evaluation: walk the events in version order, switching affected on and off. */
export function isAffected(version: string, affected: OsvAffected): boolean {
  if (affected.versions?.includes(version)) return true;
  for (const range of affected.ranges ?? []) {
    if (range.type !== 'SEMVER' && range.type !== 'ECOSYSTEM') continue;
    const events = [...range.events].sort((a, b) => compareVersions(eventVersion(a), eventVersion(b)));
    let hit = false;
    for (const e of events) {
      if ('introduced' in e && compareVersions(version, e.introduced) >= 0) hit = true;
      else if ('fixed' in e && compareVersions(version, e.fixed) >= 0) hit = false;
      else if ('last_affected' in e && compareVersions(version, e.last_affected) > 0) hit = false;
    }
    if (hit) return true;
  }
  return false;
}

export function findVulnerable(lock: Lockfile, db: AdvisoryDb): Finding[] {
  const prod = productionPackages(lock);
  const out: Finding[] = [];
  for (const adv of db.advisories) {
    for (const a of adv.affected) {
      if (a.package.ecosystem !== 'npm') continue;
      for (const version of prod.get(a.package.name) ?? []) {
        if (!isAffected(version, a)) continue;
        const fixed = (a.ranges ?? []).flatMap((r) => r.events.flatMap((e) => ('fixed' in e ? [e.fixed] : [])));
        out.push({ name: a.package.name, version, id: adv.id, severity: adv.database_specific?.severity ?? 'UNKNOWN', summary: adv.summary ?? '', fixed });
      }
    }
  }
  return out;
}

/** Keeps the advisories that name a package of the lockfile (dev included), for the vendored file. */
export function relevantAdvisories(lock: Lockfile, all: OsvAdvisory[]): OsvAdvisory[] {
  const names = new Set(Object.entries(lock.packages).flatMap(([p, e]) => (p === '' ? [] : [e.name ?? p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length)])));
  return all.filter((a) => a.affected.some((x) => x.package.ecosystem === 'npm' && names.has(x.package.name))).sort((a, b) => a.id.localeCompare(b.id));
}
