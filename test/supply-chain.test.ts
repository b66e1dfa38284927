import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type AdvisoryDb, type Lockfile, compareVersions, findVulnerable } from '../src/supply-chain/advisories.ts';
import { writeSbom } from '../src/supply-chain/sbom.ts';
import { tempDir } from './support/temp.ts';

const root = path.resolve(import.meta.dirname, '..');
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Lockfile;
const run = promisify(execFile);

const fixtureLock: Lockfile = {
  lockfileVersion: 3,
  packages: {
    '': { name: 'app', version: '1.0.0' },
    'node_modules/mailer': { version: '6.9.8' },
    'node_modules/fixed-mailer': { version: '6.9.9' },
    'node_modules/@scope/lib': { version: '2.0.0-rc.1' },
    'node_modules/outer/node_modules/nested': { version: '1.4.0' },
    'node_modules/test-only': { version: '0.1.0', dev: true },
    'node_modules/edge': { version: '9.0.0' },
  },
};
const adv = (id: string, name: string, events: AdvisoryDb['advisories'][number]['affected'][number]['ranges']) => ({
  id,
  summary: `${id} summary`,
  database_specific: { severity: 'HIGH' },
  affected: [{ package: { ecosystem: 'npm', name }, ranges: events }],
});
const fixtureDb: AdvisoryDb = {
  generated: new Date().toISOString().slice(0, 10),
  source: 'test',
  advisories: [
    adv('A-1', 'mailer', [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '6.9.9' }] }]),
    adv('A-2', 'fixed-mailer', [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '6.9.9' }] }]),
    adv('A-3', '@scope/lib', [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '2.0.0' }] }]),
    adv('A-4', 'nested', [{ type: 'SEMVER', events: [{ introduced: '1.2.0' }, { fixed: '1.3.0' }, { introduced: '1.4.0' }, { fixed: '1.4.1' }] }]),
    adv('A-5', 'test-only', [{ type: 'SEMVER', events: [{ introduced: '0' }] }]),
    adv('A-6', 'edge', [{ type: 'SEMVER', events: [{ introduced: '0' }, { last_affected: '9.0.0' }] }]),
    { id: 'A-7', affected: [{ package: { ecosystem: 'PyPI', name: 'mailer' }, versions: ['6.9.8'] }] },
  ],
};

describe('offline dependency vulnerability check (ASVS V15.2.1)', () => {
  it('orders versions by semantic-versioning precedence, pre-releases before the release', () => {
    expect(['1.10.0', '1.2.0', '1.2.0-rc.10', '1.2.0-rc.2', '1.2.0-alpha', '0.9.9'].sort(compareVersions)).toEqual(['0.9.9', '1.2.0-alpha', '1.2.0-rc.2', '1.2.0-rc.10', '1.2.0', '1.10.0']);
  });

  it('reports production packages inside an affected range, and nothing fixed, dev-only or of another ecosystem', () => {
    const hits = findVulnerable(fixtureLock, fixtureDb).map((f) => `${f.name}@${f.version} ${f.id}`);
    expect(hits.sort()).toEqual(['@scope/lib@2.0.0-rc.1 A-3', 'edge@9.0.0 A-6', 'mailer@6.9.8 A-1', 'nested@1.4.0 A-4']);
  });

  it('the CLI prints each finding and exits 1, and exits 0 on a clean tree', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'lock.json'), JSON.stringify(fixtureLock));
    fs.writeFileSync(path.join(dir, 'db.json'), JSON.stringify(fixtureDb));
    const script = path.join(root, 'src/supply-chain/check-advisories.ts');
    const bad = await run(process.execPath, [script, '--lock', path.join(dir, 'lock.json'), '--db', path.join(dir, 'db.json')]).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^VULNERABLE mailer@6\.9\.8: A-1 \(HIGH\) A-1 summary; fixed in 6\.9\.9$/m);
    const clean = await run(process.execPath, [script]);
    expect(clean.stdout).toMatch(/^checked \d+ production packages against \d+ vendored advisories/);
  });

  it('finds no known vulnerability in the production dependencies of package-lock.json', () => {
    const db = JSON.parse(fs.readFileSync(path.join(root, 'security/osv-npm.json'), 'utf8')) as AdvisoryDb;
    expect(db.advisories.length).toBeGreaterThan(0);
    expect(findVulnerable(lock, db)).toEqual([]);
  });
});

describe('SBOM (ASVS V15.1.2)', () => {
  it('is CycloneDX, lists the production packages with versions and hashes and the embedded Node, and no dev tool', () => {
    const out = path.join(tempDir(), 'tessera.cdx.json');
    writeSbom(root, out, { nodeVersion: '24.21.0' });
    const bom = JSON.parse(fs.readFileSync(out, 'utf8')) as { bomFormat: string; metadata: { component: { name: string; version: string } }; components: { name: string; version: string; type: string; hashes?: unknown[] }[] };
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.metadata.component).toMatchObject({ name: 'tessera', version: '0.1.0' });
    const hono = bom.components.find((c) => c.name === 'hono');
    expect(hono?.version).toBe(lock.packages['node_modules/hono']?.version);
    expect(hono?.hashes?.length).toBeGreaterThan(0);
    expect(bom.components.find((c) => c.name === 'node' && c.type === 'platform')?.version).toBe('24.21.0');
    for (const dev of ['vitest', 'esbuild', 'smtp-server', 's3rver']) expect(bom.components.some((c) => c.name === dev), dev).toBe(false);
  });
});
