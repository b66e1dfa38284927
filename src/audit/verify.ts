import type { Keyring } from '../keys/keyring.ts';
import { type AnchorRecord, anchorPath, checkAnchor, describeMismatch, readAnchor } from './anchor.ts';
import type { AuditLog } from './service.ts';

/**
 * `tessera audit verify`: the chain walk (every row present proves itself) plus the anchor (no
 * row after the anchored head went missing). Each kind of failure has its own name and exit
 * code, so a script or a monitoring check can tell a deleted tail from an edited row.
 */
export const auditExitCodes = {
  ok: 0,
  /** a row was edited, relinked or names an unknown key */
  broken: 3,
  gap: 4,
  truncation: 5,
  rollback: 6,
  'bad-anchor': 7,
} as const;

export type FindingKind = Exclude<keyof typeof auditExitCodes, 'ok'>;

export interface Finding {
  kind: FindingKind;
  /** The first row concerned, when there is one. */
  seq?: number;
  message: string;
}

export interface AuditReport {
  rows: number;
  anchor: { state: 'ok'; record: AnchorRecord } | { state: 'missing' | 'invalid' };
  /** Most telling first: the anchor's findings, then the chain's. */
  findings: Finding[];
  warnings: string[];
  exitCode: number;
}

export function verifyAuditLog(audit: AuditLog, keyring: Keyring, dataDir: string): AuditReport {
  const findings: Finding[] = [];
  const warnings: string[] = [];
  const file = anchorPath(dataDir);
  const chain = audit.verify();
  const read = readAnchor(file, keyring);
  let anchor: AuditReport['anchor'];
  if (read.state === 'missing') {
    anchor = { state: 'missing' };
    warnings.push(`no audit anchor at ${file}: the chain's rows were verified, but deleted newest rows cannot be detected until the server has written one`);
  } else if (read.state === 'invalid') {
    anchor = { state: 'invalid' };
    findings.push({ kind: 'bad-anchor', message: `bad anchor: ${read.reason}` });
  } else {
    anchor = { state: 'ok', record: read.anchor };
    const mismatch = checkAnchor(audit, read.head);
    if (mismatch) findings.push({ kind: mismatch.kind, seq: mismatch.anchoredSeq, message: describeMismatch(mismatch) });
  }
  if (!chain.ok) {
    const kind: FindingKind = chain.kind === 'gap' ? 'gap' : 'broken';
    findings.push({ kind, seq: chain.brokenAt, message: `audit chain broken at row ${chain.brokenAt}: ${chain.reason} (${chain.rows} rows read)` });
  }
  const first = findings[0];
  return { rows: chain.rows, anchor, findings, warnings, exitCode: first ? auditExitCodes[first.kind] : auditExitCodes.ok };
}
