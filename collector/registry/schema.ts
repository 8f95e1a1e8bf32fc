// Opens the registry database and brings its schema up to date. Migrations are numbered by their position
// and tracked in `PRAGMA user_version`, so an upgraded collector migrates an old file in place.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EVIDENCE_MIGRATION } from '../evidence/store.ts';

const MIGRATIONS: string[] = [
  `CREATE TABLE sites (
     code TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     commune TEXT,
     province TEXT,
     operator TEXT,
     link_type TEXT,
     latitude REAL,
     longitude REAL,
     students INTEGER,
     "groups" TEXT NOT NULL DEFAULT '[]',
     created_at INTEGER NOT NULL
   );
   CREATE TABLE enrollment_codes (
     code_hash TEXT PRIMARY KEY,
     site_code TEXT NOT NULL REFERENCES sites(code),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     uses_left INTEGER NOT NULL
   );
   CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     site_code TEXT NOT NULL REFERENCES sites(code),
     token_hash TEXT NOT NULL UNIQUE,
     enrolled_at INTEGER NOT NULL,
     last_seen_at INTEGER,
     agent_version TEXT,
     platform TEXT,
     hostname TEXT,
     fingerprint TEXT,
     revoked_at INTEGER
   );
   CREATE INDEX devices_site ON devices(site_code);`,

  // 2: sites get a target profile, notes and an update time; enrollment codes get a public id (to list
  // and withdraw them without knowing the code), their initial uses and a withdrawal time; devices get a
  // revocation reason and a fingerprint index (duplicate detection); every admin action is recorded in
  // audit_log, whose growing id also tells other collector processes about revocations and moves.
  `ALTER TABLE sites ADD COLUMN profile TEXT;
   ALTER TABLE sites ADD COLUMN notes TEXT;
   ALTER TABLE sites ADD COLUMN updated_at INTEGER;
   UPDATE sites SET updated_at = created_at;
   ALTER TABLE enrollment_codes ADD COLUMN id TEXT;
   ALTER TABLE enrollment_codes ADD COLUMN uses_total INTEGER;
   ALTER TABLE enrollment_codes ADD COLUMN revoked_at INTEGER;
   UPDATE enrollment_codes SET id = 'ec_' || lower(hex(randomblob(8))), uses_total = uses_left;
   CREATE UNIQUE INDEX enrollment_codes_id ON enrollment_codes(id);
   CREATE INDEX enrollment_codes_site ON enrollment_codes(site_code);
   ALTER TABLE devices ADD COLUMN revoked_reason TEXT;
   CREATE INDEX devices_fingerprint ON devices(fingerprint) WHERE fingerprint IS NOT NULL;
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     subject TEXT NOT NULL,
     detail TEXT
   );`,

  // 3 (control channel, docs/control-channel.md): agent configurations pushed to a site, a group or all
  // (scope 'site:CODE', 'group:LABEL' or 'all'; the id is the version), each device's state of the one
  // meant for it, commands waiting for or sent to a device, who is connected now (written throttled by
  // the process holding the socket), and leases so only one collector process writes the presence sweep.
  `CREATE TABLE agent_configs (
     version INTEGER PRIMARY KEY AUTOINCREMENT,
     scope TEXT NOT NULL,
     config TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     actor TEXT NOT NULL
   );
   CREATE INDEX agent_configs_scope ON agent_configs(scope, version);
   CREATE TABLE device_config_state (
     device_id TEXT PRIMARY KEY REFERENCES devices(id),
     version INTEGER NOT NULL,
     status TEXT NOT NULL,
     reason TEXT,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE control_commands (
     id TEXT PRIMARY KEY,
     device_id TEXT NOT NULL REFERENCES devices(id),
     command TEXT NOT NULL,
     status TEXT NOT NULL,
     detail TEXT,
     actor TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX control_commands_pending ON control_commands(status) WHERE status = 'pending';
   CREATE TABLE control_presence (
     device_id TEXT PRIMARY KEY REFERENCES devices(id),
     holder TEXT,
     connected INTEGER NOT NULL,
     changed_at INTEGER NOT NULL,
     refreshed_at INTEGER NOT NULL,
     clock_offset_ms REAL,
     agent_version TEXT
   );
   CREATE TABLE leases (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );`,

  // 4 (alerts) alert state per rule and site, an outbox of notifications (written before sending, marked
  // sent after the channel's 2xx), silences (the evaluator's lease is in `leases`, migration 3), and
  // small key/value facts (last digest, channel health). See docs/alerts.md.
  `CREATE TABLE alert_state (
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

  // 5 (evidence, docs/evidence.md): device signing keys, recorded daily chain heads, signature counters.
  EVIDENCE_MIGRATION,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
export const REGISTRY_FILE = 'registry.sqlite';

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`registry schema version ${current} is newer than this collector (${SCHEMA_VERSION}); upgrade the collector`);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    // Each step and its version bump commit together, so a crash never leaves a half-migrated file.
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Opens (creating if needed) `<dataDir>/registry.sqlite` in WAL mode and migrates it. */
export function openDatabase(dataDir: string): Database.Database {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(path.join(dataDir, REGISTRY_FILE));
  // WAL lets /healthz and token lookups read while an enrollment writes; busy_timeout covers a CLI
  // command writing at the same moment as the running collector.
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  try {
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
