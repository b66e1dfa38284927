import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.ts';
import { removeStaleStatusTemps } from './status-file.ts';

const root = tempDir('tessera-status-file-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('removeStaleStatusTemps', () => {
  it('removes backup-status.json.<pid>.tmp left by a crash, and nothing else', () => {
    const dir = path.join(root, 'data');
    fs.mkdirSync(dir);
    const keep = ['backup-status.json', 'backup-status.json.tmp', 'backup-status.json.12a.tmp', 'other.json.123.tmp', 'backup-status.json.123.tmp.bak'];
    for (const n of [...keep, 'backup-status.json.123.tmp', 'backup-status.json.98765.tmp']) fs.writeFileSync(path.join(dir, n), '{}');
    expect(removeStaleStatusTemps(dir).sort()).toEqual(['backup-status.json.123.tmp', 'backup-status.json.98765.tmp']);
    expect(fs.readdirSync(dir).sort()).toEqual([...keep].sort());
  });

  it('a missing data directory is not an error', () => {
    expect(removeStaleStatusTemps(path.join(root, 'absent'))).toEqual([]);
  });
});
