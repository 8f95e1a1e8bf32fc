// The throughput service's tables, in their own file `<SONGCHECK_DATA_DIR>/throughput.sqlite` (store.ts).
import type { Migration } from '../store/store.ts';

// Released without a version number: IF NOT EXISTS lets the migrations adopt a file from before they had one.
export const THROUGHPUT_MIGRATIONS: Migration[] = [
  {
    version: 1,
    owner: 'throughput',
    sqlite: `CREATE TABLE IF NOT EXISTS running_tests (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, device TEXT NOT NULL, started_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS site_leases (
        site TEXT PRIMARY KEY, lease_id TEXT NOT NULL, device TEXT NOT NULL, granted_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
      );`,
  },
  // 2: the server's view of each test (server-state-store.ts), matched to the agent's result when it arrives.
  {
    version: 2,
    owner: 'throughput',
    sqlite: `CREATE TABLE IF NOT EXISTS test_server_state (
        device TEXT NOT NULL, direction TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, state TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS test_server_state_device ON test_server_state (device, direction, started_at);`,
  },
];
