import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildCliBundle } from './support/cli-bundle.ts';

/**
 * Runs once per `vitest run`. Every test server writes its technical log under
 * test-artifacts/logs; after the run we prove no test person's email or name reached it.
 * It also unpacks the Chromium used by browser journeys once, so workers never race to do it,
 * and bundles the CLI once for the tests that spawn it (test/support/cli-bundle.ts).
 */
export const artifacts = path.resolve('test-artifacts');
const logDir = path.join(artifacts, 'logs');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  process.env.TESSERA_TEST_LOG_DIR = logDir;
  await prepareChromium();
  sweepStaleCliBundles();
  const cliDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-test-cli-'));
  // Forks inherit process.env, so test/support/cli.ts finds the bundle here.
  process.env.TESSERA_TEST_CLI_BUNDLE = await buildCliBundle(cliDir);
  process.env.TESSERA_TEST_CLI_COMPILE_CACHE = path.join(cliDir, 'compile-cache');
  // In watch mode the sources change between runs: the children must run the current ones.
  project.onTestsRerun(async () => {
    await buildCliBundle(cliDir);
  });
  return async () => {
    fs.rmSync(cliDir, { recursive: true, force: true });
    const leaks: string[] = [];
    for (const f of fs.readdirSync(logDir)) {
      const text = fs.readFileSync(path.join(logDir, f), 'utf8');
      // Test people all use these domains and this surname (see test/support/people.ts).
      for (const m of text.matchAll(/[\w.+-]+@(?:example\.test|tenant-[a-z]\.test)|Pseudonymova/g)) leaks.push(`${f}: ${m[0]}`);
    }
    if (leaks.length) throw new Error(`personal data found in technical logs:\n${leaks.slice(0, 20).join('\n')}`);
  };
}

/**
 * A run that was killed never reaches its teardown and leaves its CLI bundle behind. A day-old
 * one belongs to no run still going (a run under the heaviest load takes well under an hour).
 */
function sweepStaleCliBundles(): void {
  const dayAgo = Date.now() - 86_400_000;
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith('tessera-test-cli-')) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      if (fs.statSync(dir).mtimeMs < dayAgo) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Gone already, or another user's: not ours to clean.
    }
  }
}

/**
 * Publishes the browser for test workers (forks inherit process.env): TESSERA_CHROMIUM_PATH on
 * success, TESSERA_CHROMIUM_ERROR otherwise. A failure here must not stop the non-browser tests,
 * so it is recorded and each browser test fails with it instead.
 */
async function prepareChromium(): Promise<void> {
  delete process.env.TESSERA_CHROMIUM_PATH;
  delete process.env.TESSERA_CHROMIUM_ERROR;
  delete process.env.TESSERA_CHROMIUM_FONTCONFIG;
  const started = performance.now();
  try {
    const override = process.env.TESSERA_CHROMIUM;
    if (override) {
      fs.accessSync(override, fs.constants.X_OK);
      process.env.TESSERA_CHROMIUM_PATH = override;
      return;
    }
    const { executable, fontconfig } = await unpackSparticuz();
    process.env.TESSERA_CHROMIUM_PATH = executable;
    process.env.TESSERA_CHROMIUM_FONTCONFIG = fontconfig;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const source = process.env.TESSERA_CHROMIUM ? `TESSERA_CHROMIUM=${process.env.TESSERA_CHROMIUM}` : '@sparticuz/chromium';
    process.env.TESSERA_CHROMIUM_ERROR = `Chromium for browser tests is not usable (${source}): ${why}`;
  } finally {
    process.env.TESSERA_CHROMIUM_PREPARE_MS = String(Math.round(performance.now() - started));
  }
}

/**
 * @sparticuz/chromium unpacks into os.tmpdir() and reuses whatever it finds there by name only,
 * so a half-written /tmp/chromium (interrupted run, or two checkouts testing at once) would be
 * reused forever. We unpack into a private staging dir and rename it into place when complete:
 * the versioned dir either holds a whole browser or does not exist.
 */
async function unpackSparticuz(): Promise<{ executable: string; fontconfig: string }> {
  const version = sparticuzVersion();
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const finalDir = path.join(os.tmpdir(), `tessera-chromium-${version}-${uid}`);
  if (!fs.existsSync(path.join(finalDir, 'chromium'))) {
    const staging = fs.mkdtempSync(`${finalDir}.partial-`);
    const previousTmp = process.env.TMPDIR;
    try {
      const { default: chromium } = await import('@sparticuz/chromium');
      // The package resolves its output dir through os.tmpdir() at call time, which reads TMPDIR.
      process.env.TMPDIR = staging;
      const unpacked = await chromium.executablePath();
      if (path.dirname(unpacked) !== staging) throw new Error(`unpacked to ${unpacked}, expected it under ${staging}`);
    } finally {
      if (previousTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previousTmp;
    }
    writeFontconfig(staging, finalDir);
    try {
      fs.renameSync(staging, finalDir);
    } catch (err) {
      // Another run finished first: use its copy.
      fs.rmSync(staging, { recursive: true, force: true });
      if (!fs.existsSync(path.join(finalDir, 'chromium'))) throw err;
    }
  }
  return { executable: path.join(finalDir, 'chromium'), fontconfig: path.join(finalDir, 'tessera-fonts.conf') };
}

/** The package does not export its package.json, so find it above its entry point. */
function sparticuzVersion(): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium'));
  for (; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@sparticuz/chromium' && pkg.version) return pkg.version;
  }
  throw new Error('cannot find the version of @sparticuz/chromium');
}

/**
 * The bundled fonts.conf hard-codes /tmp/fonts. Ours keeps the machine's own fonts and adds the
 * bundled Open Sans, so pages still render text on a bare machine with no fonts installed.
 */
function writeFontconfig(staging: string, finalDir: string): void {
  const conf = `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${path.join(finalDir, 'fonts', 'fonts')}</dir>
  <cachedir>${path.join(finalDir, 'fontconfig-cache')}</cachedir>
</fontconfig>
`;
  fs.writeFileSync(path.join(staging, 'tessera-fonts.conf'), conf);
}
