-- Seat accounting in O(1): the capacity check of every registration and every public page view
-- read these counters instead of counting the event's confirmed rows (which made an opening rush
-- quadratic). Triggers keep them in the same transaction as every status change, whichever code
-- path makes it (register, confirm, cancel, promote, erase, delete); `tessera doctor` recounts.
CREATE TABLE event_seats (
  org_id TEXT NOT NULL,
  event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  confirmed INTEGER NOT NULL DEFAULT 0,
  waitlisted INTEGER NOT NULL DEFAULT 0,
  pending INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, event_id)
) WITHOUT ROWID;

INSERT INTO event_seats (org_id, event_id, confirmed, waitlisted, pending)
  SELECT org_id, event_id, sum(status = 'confirmed'), sum(status = 'waitlisted'), sum(status = 'pending')
  FROM registrations GROUP BY org_id, event_id;

CREATE TRIGGER registrations_seats_insert AFTER INSERT ON registrations BEGIN
  INSERT INTO event_seats (org_id, event_id, confirmed, waitlisted, pending)
    VALUES (NEW.org_id, NEW.event_id, NEW.status = 'confirmed', NEW.status = 'waitlisted', NEW.status = 'pending')
    ON CONFLICT (org_id, event_id) DO UPDATE SET
      confirmed = confirmed + excluded.confirmed,
      waitlisted = waitlisted + excluded.waitlisted,
      pending = pending + excluded.pending;
END;

CREATE TRIGGER registrations_seats_update AFTER UPDATE OF status ON registrations WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE event_seats SET
    confirmed = confirmed + (NEW.status = 'confirmed') - (OLD.status = 'confirmed'),
    waitlisted = waitlisted + (NEW.status = 'waitlisted') - (OLD.status = 'waitlisted'),
    pending = pending + (NEW.status = 'pending') - (OLD.status = 'pending')
  WHERE org_id = NEW.org_id AND event_id = NEW.event_id;
END;

CREATE TRIGGER registrations_seats_delete AFTER DELETE ON registrations BEGIN
  UPDATE event_seats SET
    confirmed = confirmed - (OLD.status = 'confirmed'),
    waitlisted = waitlisted - (OLD.status = 'waitlisted'),
    pending = pending - (OLD.status = 'pending')
  WHERE org_id = OLD.org_id AND event_id = OLD.event_id;
END;
