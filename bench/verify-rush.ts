/**
 * After an opening-rush run, with the server stopped: what the database holds for the event,
 * so the bench checks the outcome from the data and not only from the HTTP answers. Prints JSON.
 */
import { openInstance } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config/config.ts';

const [dataDir, keyFile, slug] = process.argv.slice(2);
if (!dataDir || !keyFile || !slug) throw new Error('usage: verify-rush.ts <data-dir> <master-key-file> <event-slug>');
const cfg = loadConfig({ dataDir, masterKeyFile: keyFile }, {});
const opened = await openInstance(cfg, { allowCreate: false, migrate: false, env: {} });
const db = opened.db;
const event = db.prepare('SELECT id, org_id, capacity FROM events WHERE slug = ?').get(slug) as { id: string; org_id: string; capacity: number | null };
// rowid is the order the writer stored them in: the order people were admitted.
const rows = db.prepare('SELECT email, status, attendee_code AS code FROM registrations WHERE org_id = ? AND event_id = ? ORDER BY rowid').all(event.org_id, event.id) as { email: string; status: string; code: string }[];
const seats = db.prepare('SELECT confirmed, waitlisted, pending FROM event_seats WHERE org_id = ? AND event_id = ?').get(event.org_id, event.id);
const lastConfirmed = rows.findLastIndex((r) => r.status === 'confirmed');
const firstWaitlisted = rows.findIndex((r) => r.status === 'waitlisted');
process.stdout.write(
  `${JSON.stringify({
    capacity: event.capacity,
    seats,
    confirmed: rows.filter((r) => r.status === 'confirmed').length,
    waitlisted: rows.filter((r) => r.status === 'waitlisted').length,
    distinctCodes: new Set(rows.map((r) => r.code)).size,
    // Seats went to those admitted first: no waitlisted row before the last confirmed one.
    inOrder: firstWaitlisted === -1 || firstWaitlisted > lastConfirmed,
    rows: rows.map((r) => [r.email, r.status, r.code]),
  })}\n`,
);
db.close();
