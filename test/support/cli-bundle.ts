import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Plugin, build } from 'esbuild';

/**
 * The CLI as one CommonJS file, built once per test run (test/global-setup.ts) so that a test
 * spawning `tessera` pays ≈0.5 s of CPU to start it instead of ≈1.8 s for tsx to load and
 * transpile about a hundred source files in every child.
 *
 * It behaves like the sources, not like the single binary: `import.meta.url` in a source file
 * becomes that file's own URL, so migrations, static files and the worker threads (erasable
 * TypeScript that Node runs itself) are read from the checkout exactly as `npm start` reads them.
 * The SQLite addon stays a require of the installed package. The single binary has its own
 * build and its own end-to-end test (build.mjs, test/sea.test.ts).
 */
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);

const sourceUrls: Plugin = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.tsx?$/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = fs.readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      return { contents: text, loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts' };
    });
  },
};

/** The native addon cannot be bundled: require the installed package by its absolute path. */
const addonExternal: Plugin = {
  name: 'sqlite-addon-external',
  setup(b) {
    b.onResolve({ filter: /^better-sqlite3-multiple-ciphers$/ }, () => ({ path: require.resolve('better-sqlite3-multiple-ciphers'), external: true }));
  },
};

/** Writes `<outDir>/main.cjs` (the name main.ts checks to know it is the entry point) and returns its path. */
export async function buildCliBundle(outDir: string): Promise<string> {
  const outfile = path.join(outDir, 'main.cjs');
  await build({
    entryPoints: [path.join(repoRoot, 'src', 'cli', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    jsx: 'automatic',
    jsxImportSource: 'hono/jsx',
    plugins: [sourceUrls, addonExternal],
    logLevel: 'error',
    // Dependencies that read import.meta themselves take their CommonJS branch, as in build.mjs.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  return outfile;
}
