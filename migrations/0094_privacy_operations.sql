-- What GDPR Art. 33(3) asks a notification to describe besides what happened: the likely
-- consequences for the people, and the measures taken or proposed. The report for the authority
-- carries both.
ALTER TABLE security_incidents ADD COLUMN likely_consequences TEXT NOT NULL DEFAULT '';
ALTER TABLE security_incidents ADD COLUMN measures_taken TEXT NOT NULL DEFAULT '';

-- Erasure receipts are deleted once sent (every retention pass): the partial index finds those
-- few rows without scanning every message the instance ever sent.
CREATE INDEX mail_outbox_receipts ON mail_outbox (status) WHERE template = 'erasureReceipt';
