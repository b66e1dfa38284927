// Builds dist/tessera: one Linux x86-64 executable that runs with no Node installed (a Node SEA).
//   esbuild bundle (CJS) of src/cli/sea-entry.ts
//   + SEA assets: migrations, assets/, static files, the SQLite addon, and manifest.json listing them
//   + the Node binary of the `node` devDependency, with the blob injected by postject.
//   and dist/tessera.cdx.json, its CycloneDX SBOM (src/supply-chain/sbom.ts).
// Usage: npm run build  (or: node build.mjs)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import postject from 'postject';

const root = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const dist = path.join(root, 'dist');
const output = path.join(dist, 'tessera');
// The fuse Node checks to know whether a blob was injected; fixed by Node's SEA design.
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

// Thrown rather than exiting on the spot, so the work directory is still removed.
function fail(message) {
  throw new Error(message);
}

/**
 * The blob must come from the very binary it is injected into, so both steps use the Node that
 * the `node` devDependency installed (not whichever node runs this script).
 */
function pinnedNode() {
  let bin;
  try {
    bin = fs.realpathSync(path.join(path.dirname(require.resolve('node/package.json')), 'bin', 'node'));
  } catch {
    bin = fs.realpathSync(process.execPath);
  }
  const head = Buffer.alloc(4);
  const fd = fs.openSync(bin, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  if (!head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) fail(`${bin} is not an ELF executable; run npm ci to reinstall the node devDependency`);
  const version = execFileSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  if (Number(version.split('.')[0]) < 24) fail(`${bin} is Node ${version}; Node 24 or newer is required`);
  return { bin, version };
}

/**
 * The addon reaches the bundle as an object through nativeBinding (see src/cli/sea-entry.ts), so
 * no `.node` file may be loaded from disk at runtime: any require of one becomes a stub that
 * throws, which makes a wrong code path loud instead of silently reading node_modules.
 */
const nativeAddonStub = {
  name: 'native-addon-stub',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'native-addon-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'native-addon-stub' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path}: the single binary gets its addon through nativeBinding`)});`,
      loader: 'js',
    }));
  },
};

function filesUnder(dir) {
  if (!fs.existsSync(path.join(root, dir))) return [];
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(root, path.join(d.parentPath, d.name)).split(path.sep).join('/'));
}

async function main() {
  const started = Date.now();
  if (process.platform !== 'linux' || process.arch !== 'x64') fail(`builds for Linux x86-64 only (this is ${process.platform}-${process.arch})`);
  const node = pinnedNode();
  fs.mkdirSync(dist, { recursive: true });
  // A private work dir inside dist/ keeps concurrent builds apart and avoids cross-device renames.
  const work = fs.mkdtempSync(path.join(dist, '.build-'));
  try {
    const bundle = path.join(work, 'tessera.cjs');
    const cjsForNode = { bundle: true, platform: 'node', target: 'node24', format: 'cjs', plugins: [nativeAddonStub], logLevel: 'warning', legalComments: 'none' };
    await build({
      ...cjsForNode,
      entryPoints: [path.join(root, 'src/cli/sea-entry.ts')],
      outfile: bundle,
      jsx: 'automatic',
      jsxImportSource: 'hono/jsx',
      // src/assets.ts reads import.meta.url only outside SEA and falls back to __dirname in CJS.
      logOverride: { 'empty-import-meta': 'silent' },
    });

    // The checkpoint worker runs from its own bundle (an asset: a worker needs code, not a file).
    const workerBundle = path.join(work, 'checkpoint-worker.cjs');
    await build({ ...cjsForNode, entryPoints: [path.join(root, 'src/backup/checkpoint-worker.ts')], outfile: workerBundle });
    const sealWorkerBundle = path.join(work, 'seal-worker.cjs');
    await build({ ...cjsForNode, entryPoints: [path.join(root, 'src/backup/seal-worker.ts')], outfile: sealWorkerBundle });

    // Loaded through Node's type stripping so the lists have one source of truth.
    const { staticSources } = await import('./src/http/static-sources.ts');
    const { addonAssetKey, checkpointWorkerAssetKey, sealWorkerAssetKey } = await import('./src/assets.ts');
    const addonFile = path.join(path.dirname(require.resolve('better-sqlite3-multiple-ciphers/package.json')), 'prebuilds', 'linux-x64.node');
    const assets = {};
    // Every file src/assets.ts may be asked for: migrations, data files under assets/, static files.
    for (const rel of [...filesUnder('migrations'), ...filesUnder('assets'), ...staticSources]) assets[rel] = path.join(root, rel);
    assets[addonAssetKey] = addonFile;
    assets[checkpointWorkerAssetKey] = workerBundle;
    assets[sealWorkerAssetKey] = sealWorkerBundle;
    for (const [key, file] of Object.entries(assets)) if (!fs.existsSync(file)) fail(`asset ${key} is missing (${file})`);
    const manifest = path.join(work, 'manifest.json');
    assets['manifest.json'] = manifest;
    fs.writeFileSync(manifest, JSON.stringify(Object.keys(assets).sort()));

    const blob = path.join(work, 'sea-prep.blob');
    const seaConfig = path.join(work, 'sea-config.json');
    fs.writeFileSync(
      seaConfig,
      JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, useSnapshot: false, assets }, null, 2),
    );
    try {
      execFileSync(node.bin, ['--experimental-sea-config', seaConfig], { cwd: work, stdio: 'pipe', encoding: 'utf8' });
    } catch (e) {
      fail(`node --experimental-sea-config failed: ${String(e.stderr || e.message).trim()}`);
    }

    // Inject into a copy and rename at the end, so dist/tessera is never half-written.
    const tmp = path.join(work, 'tessera');
    fs.copyFileSync(node.bin, tmp);
    fs.chmodSync(tmp, 0o755);
    // postject narrates each step on stdout, and LIEF warns about Node's unnamed .note sections
    // (harmless, see nodejs/postject#83); anything else it says still gets through.
    const { log, warn } = console;
    console.log = () => {};
    console.warn = (...args) => {
      if (!/^warning: Can't find string offset for section name/.test(String(args[0]))) warn(...args);
    };
    try {
      await postject.inject(tmp, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: seaFuse });
    } finally {
      Object.assign(console, { log, warn });
    }
    fs.renameSync(tmp, output);
    fs.chmodSync(output, 0o755);

    // The SBOM beside the binary (ASVS V15.1.2): production packages from package-lock.json
    // (offline) plus the Node runtime embedded above.
    const { writeSbom } = await import('./src/supply-chain/sbom.ts');
    const sbomFile = path.join(dist, 'tessera.cdx.json');
    const sbom = writeSbom(root, sbomFile, { nodeVersion: node.version });

    const size = fs.statSync(output).size;
    const mib = (n) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    process.stdout.write(
      `built ${path.relative(process.cwd(), output) || output}: ${mib(size)} (Node ${node.version}, bundle ${mib(fs.statSync(bundle).size)}, ` +
        `${Object.keys(assets).length} assets) in ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
        `wrote ${path.relative(process.cwd(), sbomFile) || sbomFile}: CycloneDX SBOM, ${sbom.components} components\n`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`build: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
