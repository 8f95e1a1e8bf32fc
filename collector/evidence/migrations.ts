// The evidence feature's tables: migration 5 of the collector's database (collector/database.ts).
import type { Migration } from '../store/store.ts';

// 5 (evidence, docs/evidence.md): each device's signing key (registered once, never replaced), the recorded
// daily chain heads of the evidence log, and per-device counters of unsigned and refused results.
export const EVIDENCE_MIGRATIONS: Migration[] = [
  {
    version: 5,
    owner: 'evidence',
    sqlite: `CREATE TABLE device_keys (
     device_id TEXT PRIMARY KEY REFERENCES devices(id),
     key_id TEXT NOT NULL UNIQUE,
     public_key TEXT NOT NULL,
     registered_at INTEGER NOT NULL,
     source TEXT NOT NULL
   );
   CREATE TABLE evidence_heads (
     site_code TEXT NOT NULL,
     date TEXT NOT NULL,
     head TEXT NOT NULL,
     prev TEXT NOT NULL,
     entries INTEGER NOT NULL,
     recorded_at INTEGER NOT NULL,
     PRIMARY KEY (site_code, date)
   );
   CREATE TABLE evidence_counters (
     device_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     count INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     last_reason TEXT,
     PRIMARY KEY (device_id, kind)
   );`,
  },
];
