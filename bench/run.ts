/**
 * `npm run bench`: each scenario measures Tessera next to a baseline run in this same
 * invocation and reports the ratio, because absolute numbers on a small shared machine drift
 * from run to run while ratios hold. Results: stdout, and bench/results/latest.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './lib/child-server.ts';
import { renderTable, type ScenarioReport } from './lib/report.ts';
import type { Scenario } from './lib/scenario.ts';
import { loadSettings } from './lib/settings.ts';
import { auditSearchScenario } from './scenarios/audit-search.ts';
import { backupScenario } from './scenarios/backup.ts';
import { eventPageScenario, registrationScenario } from './scenarios/events.ts';
import { insertRate } from './scenarios/insert-rate.ts';
import { publicPage } from './scenarios/public-page.ts';
import { purgeScenario } from './scenarios/purge.ts';
import { rushScenario } from './scenarios/rush.ts';
import { rushBudgetScenario } from './scenarios/rush-budget.ts';

const scenarios: Scenario[] = [publicPage, insertRate, eventPageScenario, rushScenario, registrationScenario, backupScenario, purgeScenario, auditSearchScenario, rushBudgetScenario];

async function main(): Promise<number> {
  const settings = loadSettings(process.env);
  const unknown = settings.only.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length) throw new Error(`BENCH_ONLY names unknown scenarios: ${unknown.join(', ')} (known: ${scenarios.map((s) => s.name).join(', ')})`);
  const selected = settings.only.length ? scenarios.filter((s) => settings.only.includes(s.name)) : scenarios.filter((s) => !s.optIn);

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'));
  const removeRoot = () => fs.rmSync(root, { recursive: true, force: true });
  // Ctrl-C: the 'exit' handler in child-server kills the servers; this removes the files.
  const onSignal = () => {
    removeRoot();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // Other work on the machine skews everything; say how busy it was so a reader can judge.
  const loadAtStart = os.loadavg()[0] ?? 0;
  const reports: ScenarioReport[] = [];
  try {
    for (const s of selected) {
      process.stderr.write(`bench: running ${s.name}...\n`);
      const tmpDir = fs.mkdtempSync(path.join(root, `${s.name}-`));
      try {
        const result = await s.run({ settings, tmpDir });
        reports.push({ name: s.name, title: s.title, ...result });
      } finally {
        fs.rmSync(tmpDir, { recursive: true, force: true });
      }
    }
  } finally {
    removeRoot();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const machine = { node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', loadAvg1mAtStart: loadAtStart, loadAvg1mAtEnd: os.loadavg()[0] ?? 0 };
  process.stdout.write(`Tessera benchmarks (${new Date().toISOString()}; node ${machine.node}, ${machine.cpus} x ${machine.cpuModel}; 1-min load average ${machine.loadAvg1mAtStart.toFixed(2)} at start, ${machine.loadAvg1mAtEnd.toFixed(2)} at end)\n`);
  process.stdout.write(`${renderTable(reports)}\n`);

  const outFile = path.join(repoRoot, 'bench', 'results', 'latest.json');
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const json = { finishedAt: new Date().toISOString(), machine, settings, scenarios: reports };
  fs.writeFileSync(outFile, `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`\nwritten to ${path.relative(process.cwd(), outFile)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
