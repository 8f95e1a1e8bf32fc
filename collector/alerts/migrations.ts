// The alerts' tables: migration 4 of the collector's database (collector/database.ts).
import type { Migration } from '../store/store.ts';

// 4 (alerts) alert state per rule and site, an outbox of notifications (written before sending, marked
// sent after the channel's 2xx), silences (the evaluator's lease is in `leases`, migration 3), and
// small key/value facts (last digest, channel health). See docs/alerts.md.
export const ALERT_MIGRATIONS: Migration[] = [
  {
    version: 4,
    owner: 'alerts',
    sqlite: `CREATE TABLE alert_state (
     rule_id TEXT NOT NULL,
     site_code TEXT NOT NULL,
     state TEXT NOT NULL,
     since INTEGER NOT NULL,
     pending_since INTEGER,
     fired_at INTEGER,
     resolved_at INTEGER,
     notified_at INTEGER,
     last_notified_at INTEGER,
     clear_streak INTEGER NOT NULL DEFAULT 0,
     acked_at INTEGER,
     acked_by TEXT,
     group_id TEXT,
     value REAL,
     summary TEXT,
     PRIMARY KEY (rule_id, site_code)
   );
   CREATE TABLE alert_outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     created_at INTEGER NOT NULL,
     channel TEXT NOT NULL,
     kind TEXT NOT NULL,
     message TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'pending',
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL,
     last_error TEXT,
     sent_at INTEGER
   );
   CREATE INDEX alert_outbox_due ON alert_outbox(status, next_attempt_at);
   CREATE TABLE alert_silences (
     id TEXT PRIMARY KEY,
     rule_id TEXT,
     site_code TEXT,
     group_key TEXT,
     until INTEGER NOT NULL,
     reason TEXT,
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE alert_meta (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  },
];
