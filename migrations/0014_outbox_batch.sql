-- The group-commit batch a message was queued in (0: written by a transaction that was durable at
-- its own COMMIT). The outbox sends only messages whose batch is known to be on disk, so no mail
-- or SMS leaves for a write that a power cut could still undo. Numbers are per process: at start
-- every stored row is made 0 (what survived a restart is on disk).
ALTER TABLE mail_outbox ADD COLUMN batch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sms_outbox ADD COLUMN batch INTEGER NOT NULL DEFAULT 0;
