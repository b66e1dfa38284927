/**
 * `node src/supply-chain/check-advisories.ts` (npm run audit:offline): exit 1 when a production
 * dependency in package-lock.json matches an advisory of security/osv-npm.json.
 * `--update-from <dir>` rebuilds that file from OSV's npm export (osv-vulnerabilities bucket,
 * npm/all.zip, unzipped), keeping the advisories that name a package of the lockfile; run it on
 * a machine that can download the export (see SECURITY.md for how often).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AdvisoryDb, type Lockfile, type OsvAdvisory, findVulnerable, productionPackages, relevantAdvisories } from './advisories.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): number {
  const lockFile = arg('--lock') ?? path.join(root, 'package-lock.json');
  const dbFile = arg('--db') ?? path.join(root, 'security', 'osv-npm.json');
  const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as Lockfile;
  const from = arg('--update-from');
  if (from !== undefined) {
    const all = fs
      .readdirSync(from)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(fs.readFileSync(path.join(from, f), 'utf8')) as OsvAdvisory);
    const db: AdvisoryDb = { generated: new Date().toISOString().slice(0, 10), source: 'OSV npm export (osv-vulnerabilities npm/all.zip), filtered to package-lock.json', advisories: relevantAdvisories(lock, all) };
    fs.writeFileSync(dbFile, `${JSON.stringify(db, null, 2)}\n`);
    process.stdout.write(`wrote ${db.advisories.length} of ${all.length} advisories to ${dbFile}\n`);
    return 0;
  }
  const db = JSON.parse(fs.readFileSync(dbFile, 'utf8')) as AdvisoryDb;
  const ageDays = Math.floor((Date.now() - Date.parse(db.generated)) / 86_400_000);
  const findings = findVulnerable(lock, db);
  const count = [...productionPackages(lock).values()].reduce((n, s) => n + s.size, 0);
  process.stdout.write(`checked ${count} production packages against ${db.advisories.length} vendored advisories (database of ${db.generated}, ${ageDays} days old)\n`);
  // A stale database passes silently otherwise; SECURITY.md asks for a refresh at least weekly.
  if (ageDays > 30) process.stdout.write(`warning: the advisory database is ${ageDays} days old; refresh it (--update-from, see SECURITY.md)\n`);
  for (const f of findings) {
    process.stdout.write(`VULNERABLE ${f.name}@${f.version}: ${f.id} (${f.severity}) ${f.summary}${f.fixed.length ? `; fixed in ${f.fixed.join(', ')}` : ''}\n`);
  }
  return findings.length > 0 ? 1 : 0;
}

process.exitCode = main();
