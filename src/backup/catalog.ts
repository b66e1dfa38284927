import { type ParsedKey, parseKey } from './layout.ts';
import type { BackupTarget, ObjectInfo } from './targets/target.ts';

/** What one target holds, from its listing alone (names carry index and time). */

export interface SnapshotEntry {
  key: string;
  generation: string;
  index: number;
  time: number;
  nextSegment: number;
  size: number;
}

export interface SegmentEntry {
  key: string;
  generation: string;
  index: number;
  time: number;
  size: number;
}

export interface GenerationEntry {
  id: string;
  /** by index */
  snapshots: SnapshotEntry[];
  /** by index */
  segments: SegmentEntry[];
  bytes: number;
  firstTime: number;
  lastTime: number;
}

export interface KeyringEntry {
  key: string;
  time: number;
  size: number;
}

export interface Catalog {
  /** oldest first */
  generations: GenerationEntry[];
  /** oldest first */
  keyrings: KeyringEntry[];
}

export function buildCatalog(objects: ObjectInfo[]): Catalog {
  const gens = new Map<string, GenerationEntry>();
  const keyrings: KeyringEntry[] = [];
  const genOf = (id: string) => {
    let g = gens.get(id);
    if (!g) {
      g = { id, snapshots: [], segments: [], bytes: 0, firstTime: Infinity, lastTime: -Infinity };
      gens.set(id, g);
    }
    return g;
  };
  for (const o of objects) {
    const p: ParsedKey | undefined = parseKey(o.key);
    if (!p) continue;
    if (p.kind === 'keyring') {
      keyrings.push({ key: o.key, time: p.time, size: o.size });
      continue;
    }
    const g = genOf(p.generation);
    g.bytes += o.size;
    g.firstTime = Math.min(g.firstTime, p.time);
    g.lastTime = Math.max(g.lastTime, p.time);
    if (p.kind === 'snapshot') g.snapshots.push({ key: o.key, generation: p.generation, index: p.index, time: p.time, nextSegment: p.nextSegment, size: o.size });
    else g.segments.push({ key: o.key, generation: p.generation, index: p.index, time: p.time, size: o.size });
  }
  const generations = [...gens.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const g of generations) {
    g.snapshots.sort((a, b) => a.index - b.index);
    g.segments.sort((a, b) => a.index - b.index);
  }
  keyrings.sort((a, b) => a.time - b.time || (a.key < b.key ? -1 : 1));
  return { generations, keyrings };
}

export async function readCatalog(target: BackupTarget): Promise<Catalog> {
  const [gens, rings] = await Promise.all([target.list('generations/'), target.list('keyrings/')]);
  return buildCatalog([...gens, ...rings]);
}
