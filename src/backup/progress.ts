import bars from 'cli-progress';

/** Bytes and objects done of a known total; the CLI shows it, library callers may ignore it. */
export interface Progress {
  start(totalBytes: number, totalObjects: number): void;
  advance(bytes: number, objects?: number): void;
  done(): void;
}

export const silentProgress: Progress = { start() {}, advance() {}, done() {} };

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * A bar (cli-progress) on a terminal; otherwise one plain line at most every few seconds, so
 * logs of scripted restores stay readable.
 */
export function progressReporter(verb: string, stream: NodeJS.WriteStream = process.stderr, intervalMs = 2000): Progress {
  let total = 0;
  let totalObjects = 0;
  let bytes = 0;
  let objects = 0;
  let started = 0;
  let lastLine = 0;
  let bar: bars.SingleBar | undefined;
  const eta = () => {
    const elapsed = (Date.now() - started) / 1000;
    if (bytes === 0 || elapsed === 0) return 'unknown';
    return `${Math.max(0, Math.round(((total - bytes) * elapsed) / bytes))} s`;
  };
  const line = () => `${verb}: ${humanBytes(bytes)} of ${humanBytes(total)}, ${objects}/${totalObjects} objects, ETA ${eta()}\n`;
  return {
    start(t, o) {
      total = t;
      totalObjects = o;
      started = Date.now();
      if (stream.isTTY) {
        const b = new bars.SingleBar(
          {
            stream,
            format: `${verb} [{bar}] {percentage}% | {done} of {size} | {objects}/{totalObjects} objects | ETA {eta_formatted}`,
            hideCursor: true,
            clearOnComplete: false,
          },
          bars.Presets.shades_classic,
        );
        bar = b;
        b.start(Math.max(total, 1), 0, { done: humanBytes(0), size: humanBytes(total), objects: 0, totalObjects });
      } else {
        stream.write(`${verb}: ${humanBytes(total)} in ${totalObjects} objects\n`);
        lastLine = Date.now();
      }
    },
    advance(b, o = 0) {
      bytes += b;
      objects += o;
      if (bar) bar.update(Math.min(bytes, Math.max(total, 1)), { done: humanBytes(bytes), objects });
      else if (Date.now() - lastLine >= intervalMs) {
        stream.write(line());
        lastLine = Date.now();
      }
    },
    done() {
      if (bar) bar.stop();
      else stream.write(line().replace(/, ETA [^\n]*/, ', done'));
    },
  };
}
