/**
 * CycloneDX SBOM of what dist/tessera ships (ASVS V15.1.2): the production npm packages, from
 * `npm sbom --package-lock-only` (offline: it reads package-lock.json, not the registry, and not
 * node_modules, which in a worktree may be a symlink npm misreads), plus the Node runtime the
 * single binary embeds, which no lockfile lists as a production dependency.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

interface CdxComponent {
  type: string;
  name: string;
  version: string;
  'bom-ref'?: string;
  purl?: string;
  [k: string]: unknown;
}
interface CdxBom {
  bomFormat: string;
  specVersion: string;
  metadata: { component?: CdxComponent; [k: string]: unknown };
  components: CdxComponent[];
  [k: string]: unknown;
}

/** npm itself: the one running this script (npm run build), else the npm on PATH. */
function npm(args: string[], cwd: string): string {
  const cli = process.env.npm_execpath;
  const [cmd, full] = cli && /\.c?js$/.test(cli) ? [process.execPath, [cli, ...args]] : ['npm', args];
  return execFileSync(cmd, full, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function writeSbom(root: string, outFile: string, runtime: { nodeVersion: string }): { components: number } {
  const bom = JSON.parse(npm(['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '--package-lock-only'], root)) as CdxBom;
  if (bom.bomFormat !== 'CycloneDX') throw new Error('npm sbom did not produce a CycloneDX document');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  // npm names the root after the directory (a worktree or CI clone has another name).
  bom.metadata.component = { ...bom.metadata.component, type: 'application', name: pkg.name, version: pkg.version, 'bom-ref': `${pkg.name}@${pkg.version}`, purl: `pkg:npm/${pkg.name}@${pkg.version}` };
  bom.components.push({
    type: 'platform',
    name: 'node',
    version: runtime.nodeVersion,
    'bom-ref': `node@${runtime.nodeVersion}`,
    purl: `pkg:generic/node@${runtime.nodeVersion}`,
    description: 'Node.js runtime embedded in the single binary (Node SEA)',
  });
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(bom, null, 2)}\n`);
  return { components: bom.components.length };
}
