import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Long files first. Vitest orders files by their duration in the last run when it has one
 * (node_modules/.vite/vitest); on a fresh checkout it falls back to file size, which starts the
 * browser tests (short files, long runs) midway, and with two workers the last of them then
 * decides when the run ends. Without a full record, the browser tests and journeys go first.
 */
class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    if (sorted.every((f) => this.ctx.cache.getTestSpecificationResult(f))) return sorted;
    const long = (f: TestSpecification) => /(browser|journey)[^/]*\.test\.tsx?$/.test(f.moduleId);
    return [...sorted.filter(long), ...sorted.filter((f) => !long(f))];
  }
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Hang guards, not speed claims: a test that spawns CLI processes (≈0.5 s of CPU each to start
    // the run's bundle) must not fail because two cores are shared by four runs.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // expect.poll waits for a condition; its 1 s default is a speed claim a loaded 2-core machine
    // can miss between a click and the next page's paint. This is a hang guard, not a target.
    expect: { poll: { timeout: 120_000, interval: 50 } },
    pool: 'forks',
    // Vitest's default on two cores is one file at a time, but most test files spend much of their
    // time waiting (fsync, child processes, the browser, timers): two at a time keeps both cores
    // busy.
    maxWorkers: 2,
    // A worker process runs file after file, keeping what they import: a fresh process and a
    // fresh import of the whole app for each of 127 files cost about a sixth of the run. Files
    // keep no shared state (each starts its own servers and data directories); the clean-up that
    // must happen per file is in a setup file, which vitest runs again for every file.
    isolate: false,
    setupFiles: ['test/support/per-file.ts'],
    globalSetup: ['test/global-setup.ts'],
    sequence: { sequencer: LongFilesFirst },
  },
});
