import path from 'node:path';
import { z } from 'zod';

const seconds = (def: number) => z.coerce.number().positive().max(600).default(def);

/** Knobs a person may turn from the environment; everything else is fixed so runs compare. */
const schema = z.object({
  BENCH_DURATION: seconds(10),
  BENCH_CONNECTIONS: z.coerce.number().int().min(1).max(1024).default(64),
  BENCH_WARMUP: z.coerce.number().min(0).max(600).default(2),
  BENCH_INSERT_SECONDS: seconds(3),
  /** comma-separated scenario names; empty runs them all */
  BENCH_ONLY: z.string().default(''),
  /** a directory: Tessera children write V8 CPU profiles there (bench/profile-summary.ts reads them); profiling slows them, so such a run's figures do not compare */
  BENCH_CPU_PROF: z.string().default(''),
  /** extra flags for every Tessera child, space-separated (A/B runs of a setting, e.g. "--registration-queue-after-ms 5000") */
  BENCH_TESSERA_ARGS: z.string().default(''),
});

export interface BenchSettings {
  /** seconds of measured load per HTTP target */
  duration: number;
  connections: number;
  /** seconds of discarded load before each measured run */
  warmup: number;
  /** seconds of insert loop per database */
  insertSeconds: number;
  only: string[];
  /** where Tessera children write .cpuprofile files; undefined: no profiling */
  cpuProfDir: string | undefined;
  /** extra flags for every Tessera child */
  tesseraArgs: string[];
}

export function loadSettings(env: NodeJS.ProcessEnv): BenchSettings {
  // An empty variable means "unset", as in the server's own config loader.
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('BENCH_') && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid value for ${issue?.path.join('.') ?? 'BENCH_*'}: ${issue?.message ?? 'invalid'}`);
  }
  const s = parsed.data;
  return {
    duration: s.BENCH_DURATION,
    connections: s.BENCH_CONNECTIONS,
    warmup: s.BENCH_WARMUP,
    insertSeconds: s.BENCH_INSERT_SECONDS,
    only: s.BENCH_ONLY.split(',').map((n) => n.trim()).filter(Boolean),
    cpuProfDir: s.BENCH_CPU_PROF ? path.resolve(s.BENCH_CPU_PROF) : undefined,
    tesseraArgs: s.BENCH_TESSERA_ARGS.split(' ').filter(Boolean),
  };
}
