// The ingest guards' tables: migration 6 of the collector's database (collector/database.ts). See
// docs/data-model.md#ingest-guard-tables and docs/security.md#a-hostile-enrolled-device-issue-14.
import type { Migration } from '../store/store.ts';

export const GUARD_MIGRATIONS: Migration[] = [
  {
    version: 6,
    owner: 'guards',
    // dead_letters: results InfluxDB refused for a reason that is not the result's fault, kept with the
    //   exact line that was refused and InfluxDB's words, until an operator retries or purges them.
    // device_targets: the distinct targets each device has reported per probe (the series budget).
    // device_flags: devices the guards caught (series budget, ...), for the fleet dashboard and alerts.
    // site_tag_versions: the commune/operator/link-type tags a site had from a time on, so a result resent
    //   after a site edit lands on the series it was first stored in.
    // clock_corrections: the time a future-stamped result was stored under, so a resend lands on the same point.
    sqlite: `CREATE TABLE dead_letters (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     device_id TEXT NOT NULL,
     site_code TEXT NOT NULL,
     result_id TEXT NOT NULL,
     measurement TEXT NOT NULL,
     line TEXT NOT NULL,
     kind TEXT NOT NULL,
     reason TEXT NOT NULL,
     first_at INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 1,
     UNIQUE (device_id, result_id)
   );
   CREATE TABLE device_targets (
     device_id TEXT NOT NULL,
     probe TEXT NOT NULL,
     target TEXT NOT NULL,
     first_at INTEGER NOT NULL,
     PRIMARY KEY (device_id, probe, target)
   ) WITHOUT ROWID;
   CREATE TABLE device_flags (
     device_id TEXT NOT NULL,
     flag TEXT NOT NULL,
     site_code TEXT NOT NULL,
     first_at INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     count INTEGER NOT NULL,
     detail TEXT NOT NULL,
     PRIMARY KEY (device_id, flag)
   );
   CREATE TABLE site_tag_versions (
     site_code TEXT NOT NULL,
     effective_from INTEGER NOT NULL,
     tags TEXT NOT NULL,
     PRIMARY KEY (site_code, effective_from)
   ) WITHOUT ROWID;
   CREATE TABLE clock_corrections (
     device_id TEXT NOT NULL,
     result_id TEXT NOT NULL,
     stored_at_ms INTEGER NOT NULL,
     recorded_at INTEGER NOT NULL,
     PRIMARY KEY (device_id, result_id)
   ) WITHOUT ROWID;`,
  },
];
