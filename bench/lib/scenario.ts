import type { BenchSettings } from './settings.ts';

export interface Figure {
  /** stable key for the JSON, e.g. "tessera.reqPerSec" */
  name: string;
  value: number;
  unit: string;
}

export interface ScenarioContext {
  settings: BenchSettings;
  /** a fresh directory for this scenario, removed after it */
  tmpDir: string;
}

export interface Scenario {
  /** used by BENCH_ONLY and as the JSON key */
  name: string;
  title: string;
  /** runs only when BENCH_ONLY names it (an exploration, not a gate) */
  optIn?: boolean;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

export interface ScenarioResult {
  figures: Figure[];
  /** things a reader must know to trust the figures (e.g. failed requests) */
  notes: string[];
}
