import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../keys/keyring.ts';
import type { ChainHead } from './service.ts';

/**
 * What retention leaves of the pruned oldest rows: the seq and MAC of the last one removed,
 * signed with the audit key. The chain then verifies from the first kept row (its prev_mac must
 * be this MAC), and whoever can edit the database cannot claim that more rows were pruned than
 * were: the signature needs the audit key, which never sits unwrapped on disk. Deleting the
 * checkpoint row itself shows as the pruned rows missing.
 */
export interface CheckpointRow {
  seq: number;
  mac: Buffer;
  last_at: string;
  pruned_at: string;
  pruned_total: number;
  key_id: string;
  sig: Buffer;
}

export type CheckpointRead = { state: 'none' } | { state: 'ok'; head: ChainHead; row: CheckpointRow } | { state: 'invalid'; reason: string };

function sign(keyring: Keyring, keyId: string, r: Omit<CheckpointRow, 'sig' | 'key_id'>): Buffer | undefined {
  const key = keyring.byId(keyId);
  if (!key || key.purpose !== 'audit') return undefined;
  return createHmac('sha256', keyring.hmacKey(key))
    .update('tessera audit checkpoint v1\u0000')
    .update(JSON.stringify([r.seq, r.mac.toString('base64'), r.last_at, r.pruned_at, r.pruned_total, keyId]))
    .digest();
}

export function signCheckpoint(keyring: Keyring, r: Omit<CheckpointRow, 'sig' | 'key_id'>): CheckpointRow {
  const keyId = keyring.active('audit').id;
  return { ...r, key_id: keyId, sig: sign(keyring, keyId, r)! };
}

export function checkCheckpoint(keyring: Keyring, row: CheckpointRow | undefined): CheckpointRead {
  if (!row) return { state: 'none' };
  const expected = sign(keyring, row.key_id, row);
  if (!expected) return { state: 'invalid', reason: `the pruning checkpoint is signed with ${row.key_id}, which is not an audit key of this keyring` };
  if (row.sig.length !== expected.length || !timingSafeEqual(row.sig, expected)) return { state: 'invalid', reason: 'the pruning checkpoint has a bad signature (it was edited or forged)' };
  return { state: 'ok', head: { seq: row.seq, mac: row.mac }, row };
}
