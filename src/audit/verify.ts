import type { Keyring } from '../keys/keyring.ts';
import { type AnchorRecord, anchorPath, checkAnchor, describeMismatch, readAnchor } from './anchor.ts';
import type { AuditLog, ChainCheck } from './service.ts';

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
  /** the signed record of rows removed by retention does not hold */
  'bad-checkpoint': 8,
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
  return report(audit, keyring, dataDir, audit.verify());
}

/** The same check without holding the event loop for the whole walk (the server's daily run). */
export async function verifyAuditLogAsync(audit: AuditLog, keyring: Keyring, dataDir: string): Promise<AuditReport> {
  return report(audit, keyring, dataDir, await audit.verifyAsync());
}

function report(audit: AuditLog, keyring: Keyring, dataDir: string, chain: ChainCheck): AuditReport {
  const findings: Finding[] = [];
  const warnings: string[] = [];
  const file = anchorPath(dataDir);
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
    if (chain.kind === 'checkpoint') findings.push({ kind: 'bad-checkpoint', message: `bad checkpoint: ${chain.reason}` });
    else {
      const kind: FindingKind = chain.kind === 'gap' ? 'gap' : 'broken';
      findings.push({ kind, seq: chain.brokenAt, message: `audit chain broken at row ${chain.brokenAt}: ${chain.reason} (${chain.rows} rows read)` });
    }
  }
  const first = findings[0];
  return { rows: chain.rows, anchor, findings, warnings, exitCode: first ? auditExitCodes[first.kind] : auditExitCodes.ok };
}
