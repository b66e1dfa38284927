/**
 * The seam between the privacy capability's two halves: retention/erasure (which owns the
 * erasure itself, the ledger and holds) and the attendee/organizer request pages (which ask for
 * an erasure on someone's behalf). Both are built against this shape so neither waits for the
 * other; `src/privacy/erasure.ts` implements it and the composition root passes it in.
 */
export type ErasureReason = 'retention' | 'attendee-request' | 'organizer-request';

export interface ErasureActor {
  /** a staff user id, or null when the attendee or the scheduler acted */
  userId: string | null;
  ip: string | null;
}

export interface ErasePersonInput {
  orgId: string;
  /** the person, by normalized email; every registration of that email in the org */
  email: string;
  reason: ErasureReason;
  actor: ErasureActor;
  /** the data-subject request this erasure answers, when there is one */
  requestId?: string;
}

export interface HeldRecord {
  registrationId: string;
  eventTitle: string;
  reason: string;
  /** ms since epoch */
  until: number;
}

export interface ErasureReceipt {
  erasedRegistrations: number;
  /** the kinds of data erased, in words ("name", "email", "answers", "messages sent") */
  erased: string[];
  /** what was kept and why (non-personal facts for statistics; records on hold) */
  kept: string[];
  held: HeldRecord[];
  /** ms since epoch */
  at: number;
  /** ms since epoch: when the last encrypted backup still holding the data expires; null without backups */
  backupsExpireBy: number | null;
}

export interface PersonEraser {
  erasePerson(input: ErasePersonInput): ErasureReceipt;
}
