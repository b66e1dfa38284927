import { randomBytes } from 'node:crypto';

/**
 * Object names under a target's prefix (FORMAT.md describes them for a standby that follows them).
 * Names carry index and time so listing alone is enough to plan a restore or a retention pass;
 * the authenticated header inside each object repeats them, so a renamed object is caught.
 */

const TIME = String.raw`\d{8}T\d{9}Z`;
export const GENERATION_RE = new RegExp(`^${TIME}-[0-9a-f]{8}$`);
const SNAPSHOT_RE = new RegExp(`^generations/(${TIME}-[0-9a-f]{8})/snapshots/(\\d{8})-(${TIME})-(\\d{10})\\.snap$`);
const SEGMENT_RE = new RegExp(`^generations/(${TIME}-[0-9a-f]{8})/segments/(\\d{10})-(${TIME})\\.seg$`);
const KEYRING_RE = new RegExp(`^keyrings/(${TIME})-([0-9a-f]{16})\\.json$`);

/** 2025-01-02T03:04:05.678Z → 20250102T030405678Z: sorts as text, safe in any object store. */
export function compactTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${iso.slice(20, 23)}Z`;
}

export function parseCompactTime(s: string): number {
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}.${s.slice(15, 18)}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a compact time: ${s}`);
  return ms;
}

/** Time-ordered, so generations list in the order they started. */
export function newGenerationId(nowMs: number): string {
  return `${compactTime(nowMs)}-${randomBytes(4).toString('hex')}`;
}

export function generationStart(id: string): number {
  return parseCompactTime(id.slice(0, 19));
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function snapshotKey(generation: string, index: number, timeMs: number, nextSegment: number): string {
  return `generations/${generation}/snapshots/${pad(index, 8)}-${compactTime(timeMs)}-${pad(nextSegment, 10)}.snap`;
}

export function segmentKey(generation: string, index: number, timeMs: number): string {
  return `generations/${generation}/segments/${pad(index, 10)}-${compactTime(timeMs)}.seg`;
}

export function keyringKey(timeMs: number, sha256Hex: string): string {
  return `keyrings/${compactTime(timeMs)}-${sha256Hex.slice(0, 16)}.json`;
}

export type ParsedKey =
  | { kind: 'snapshot'; generation: string; index: number; time: number; nextSegment: number }
  | { kind: 'segment'; generation: string; index: number; time: number }
  | { kind: 'keyring'; time: number };

/** undefined for anything that is not ours (temp files, other tools' objects). */
export function parseKey(key: string): ParsedKey | undefined {
  let m = SNAPSHOT_RE.exec(key);
  if (m) return { kind: 'snapshot', generation: m[1] as string, index: Number(m[2]), time: parseCompactTime(m[3] as string), nextSegment: Number(m[4]) };
  m = SEGMENT_RE.exec(key);
  if (m) return { kind: 'segment', generation: m[1] as string, index: Number(m[2]), time: parseCompactTime(m[3] as string) };
  m = KEYRING_RE.exec(key);
  if (m) return { kind: 'keyring', time: parseCompactTime(m[1] as string) };
  return undefined;
}
