-- Which columns each staff member shows in an event's attendee list, so the choice survives
-- sign-outs and devices. Only column keys (built-in names and form field keys), never personal data.
CREATE TABLE attendee_list_columns (
  org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  columns TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (event_id, user_id)
);
