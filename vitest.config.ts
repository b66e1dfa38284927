import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Hang guards, not speed claims: a test that spawns CLI processes (≈0.5 s of CPU each to start
    // the run's bundle) must not fail because two cores are shared by four runs.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // expect.poll waits for a condition; its 1 s default is a speed claim a loaded 2-core machine
    // can miss between a click and the next page's paint. 30 s is a hang guard, not a target.
    expect: { poll: { timeout: 30_000, interval: 50 } },
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
