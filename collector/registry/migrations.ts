// The registry's tables (sites, enrollment codes, devices, audit log): migrations 1 and 2 of the
// collector's database (the order of all features' migrations is in collector/database.ts).
import type { Migration } from '../store/store.ts';

export const REGISTRY_MIGRATIONS: Migration[] = [
  {
    version: 1,
    owner: 'registry',
    sqlite: `CREATE TABLE sites (
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
  },
  // 2: sites get a target profile, notes and an update time; enrollment codes get a public id (to list
  // and withdraw them without knowing the code), their initial uses and a withdrawal time; devices get a
  // revocation reason and a fingerprint index (duplicate detection); every admin action is recorded in
  // audit_log, whose growing id also tells other collector processes about revocations and moves.
  {
    version: 2,
    owner: 'registry',
    sqlite: `ALTER TABLE sites ADD COLUMN profile TEXT;
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
  },
];
