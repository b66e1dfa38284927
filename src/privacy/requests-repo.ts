import type { DB } from '../db/open.ts';

export type RequestType = 'access' | 'erasure' | 'correction';
export type RequestStatus = 'open' | 'completed';

export interface PrivacyRequestRow {
  id: string;
  org_id: string;
  type: RequestType;
  status: RequestStatus;
  channel: 'self-service' | 'organizer';
  email: string;
  message: string;
  received_at: string;
  deadline_at: string;
  completed_at: string | null;
  completed_by: string | null;
  outcome: string;
}

export interface PrivacyLinkRow {
  token_hash: Buffer;
  org_id: string;
  email: string;
  registration_id: string | null;
  kind: 'link' | 'session';
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

/** Self-service links and data-subject requests: tenant data, every statement takes the organization id. */
export function privacyRequestsRepo(db: DB) {
  const s = {
    insertLink: db.prepare(`INSERT INTO privacy_links (token_hash, org_id, email, registration_id, kind, expires_at, created_at)
      VALUES (@token_hash, @org_id, @email, @registration_id, @kind, @expires_at, @created_at)`),
    link: db.prepare('SELECT * FROM privacy_links WHERE token_hash = ? AND kind = ?'),
    useLink: db.prepare('UPDATE privacy_links SET used_at = ? WHERE token_hash = ? AND org_id = ? AND used_at IS NULL AND expires_at > ?'),
    pruneLinks: db.prepare('DELETE FROM privacy_links WHERE expires_at < ?'),
    forgetLinks: db.prepare('DELETE FROM privacy_links WHERE org_id = ? AND email = ?'),
    insertRequest: db.prepare(`INSERT INTO privacy_requests (id, org_id, type, status, channel, email, message, received_at, deadline_at, completed_at, completed_by, outcome)
      VALUES (@id, @org_id, @type, @status, @channel, @email, @message, @received_at, @deadline_at, @completed_at, @completed_by, @outcome)`),
    request: db.prepare('SELECT * FROM privacy_requests WHERE org_id = ? AND id = ?'),
    requests: db.prepare('SELECT * FROM privacy_requests WHERE org_id = ? ORDER BY status = \'completed\', received_at DESC LIMIT ?'),
    requestsOf: db.prepare('SELECT * FROM privacy_requests WHERE org_id = ? AND email = ? ORDER BY received_at DESC'),
    complete: db.prepare(`UPDATE privacy_requests SET status = 'completed', completed_at = @at, completed_by = @by, outcome = @outcome WHERE org_id = @org_id AND id = @id AND status = 'open'`),
    forgetRequests: db.prepare(`UPDATE privacy_requests SET email = '', message = '' WHERE org_id = ? AND email = ?`),
  };
  return {
    insertLink: (r: Omit<PrivacyLinkRow, 'used_at'>) => void s.insertLink.run(r),
    link: (hash: Buffer, kind: PrivacyLinkRow['kind']) => s.link.get(hash, kind) as PrivacyLinkRow | undefined,
    /** Marks a link used; false when it was used, expired or gone (the single-use rule, in one statement). */
    useLink: (orgId: string, hash: Buffer, now: number) => s.useLink.run(now, hash, orgId, now).changes === 1,
    pruneLinks: (before: number) => void s.pruneLinks.run(before),
    forgetLinks: (orgId: string, email: string) => void s.forgetLinks.run(orgId, email),
    insertRequest: (r: PrivacyRequestRow) => void s.insertRequest.run(r),
    request: (orgId: string, id: string) => s.request.get(orgId, id) as PrivacyRequestRow | undefined,
    requests: (orgId: string, limit: number) => s.requests.all(orgId, limit) as PrivacyRequestRow[],
    requestsOf: (orgId: string, email: string) => s.requestsOf.all(orgId, email) as PrivacyRequestRow[],
    complete: (orgId: string, id: string, at: string, by: string | null, outcome: string) => s.complete.run({ org_id: orgId, id, at, by, outcome }).changes === 1,
    /** After an erasure the requests keep their dates and outcome, not the address or the text. */
    forgetRequests: (orgId: string, email: string) => void s.forgetRequests.run(orgId, email),
  };
}
