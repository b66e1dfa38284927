/**
 * Every backup failure an operator can act on is one of these, with a one-line message that
 * names the object or target involved. The CLI prints the message as is.
 */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** The backup key an object needs is missing from the keyring, or is a different key. */
export class BackupKeyError extends BackupError {
  override name = 'BackupKeyError';
}

/** An object failed authentication or does not match its name: altered, truncated or swapped. */
export class TamperedObjectError extends BackupError {
  override name = 'TamperedObjectError';
  constructor(
    readonly object: string,
    reason: string,
  ) {
    super(`backup object ${object} is damaged or was altered: ${reason}`);
  }
}

/** A segment is missing or does not continue where the previous one ended. */
export class BackupGapError extends BackupError {
  override name = 'BackupGapError';
}

/** Nothing to restore from at the requested time or generation. */
export class NoSnapshotError extends BackupError {
  override name = 'NoSnapshotError';
}

export type TargetErrorKind = 'unreachable' | 'no-bucket' | 'auth' | 'not-found' | 'other';

/** A storage target refused or could not be reached. */
export class TargetError extends BackupError {
  override name = 'TargetError';
  constructor(
    readonly kind: TargetErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function isBackupError(e: unknown): e is BackupError {
  return e instanceof BackupError;
}
