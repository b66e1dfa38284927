/**
 * Summarises a V8 .cpuprofile (from BENCH_CPU_PROF=<dir> npm run bench): where the server's
 * time went, as self time per function and inclusive time per function of our own code, in
 * percent of the non-idle samples. Usage: node --import tsx bench/profile-summary.ts FILE [N]
 */
import fs from 'node:fs';
import { z } from 'zod';

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number(), columnNumber: z.number() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type Node = z.infer<typeof profileSchema>['nodes'][number];

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [how many lines]');
const top = Number(topArg ?? 30);
const profile = profileSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// Generated code has no useful names (arrow functions): the location tells them apart.
const label = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/node_modules\//, 'nm/').replace(/^file:\/\/.*?\/(src|views|bench)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}:${n.callFrame.columnNumber}`;
};

const selfByNode = new Map<number, number>();
profile.samples.forEach((id, i) => selfByNode.set(id, (selfByNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
let busy = 0;
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, t] of selfByNode) {
  const node = byId.get(id);
  if (!node || node.callFrame.functionName === '(idle)') continue;
  busy += t;
  self.set(label(node), (self.get(label(node)) ?? 0) + t);
  // Count each function once per sample even when it recurses.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    if (!n) break;
    const l = label(n);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + t);
  }
}
const pct = (t: number) => `${((t / busy) * 100).toFixed(1).padStart(5)}%`;
const print = (title: string, rows: Map<string, number>, keep: (label: string) => boolean) => {
  process.stdout.write(`${title}\n`);
  for (const [l, t] of [...rows].filter(([l]) => keep(l)).sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(t)}  ${l}\n`);
};
process.stdout.write(`${(busy / 1000).toFixed(0)} ms of non-idle samples\n`);
print('self time', self, () => true);
print('inclusive time, our code', inclusive, (l) => / (src|views)\//.test(l));
