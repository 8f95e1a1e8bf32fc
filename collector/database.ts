// The collector's database: which feature contributes which migration, in the order released files
// recorded them, and where the state lives (a SQLite file in the data directory, or the PostgreSQL database
// of SONGCHECK_DATABASE_URL shared by several collectors). A new table goes in its feature's
// `migrations.ts` with the next version, listed here.
import { ALERT_MIGRATIONS } from './alerts/migrations.ts';
import { CONTROL_MIGRATIONS, CONTROL_ORDER_MIGRATIONS } from './control/migrations.ts';
import { EVIDENCE_MIGRATIONS } from './evidence/migrations.ts';
import { GUARD_MIGRATIONS } from './guards/migrations.ts';
import { REGISTRY_MIGRATIONS, REGISTRY_ORDER_MIGRATIONS } from './registry/migrations.ts';
import type { ImportTable } from './store/import-sqlite.ts';
import { openStore, storeLocation } from './store/open.ts';
import type { Migration, Store } from './store/store.ts';
import { THROUGHPUT_MIGRATIONS } from './throughput/migrations.ts';

export const COLLECTOR_MIGRATIONS: readonly Migration[] = [...REGISTRY_MIGRATIONS, ...CONTROL_MIGRATIONS, ...ALERT_MIGRATIONS, ...EVIDENCE_MIGRATIONS, ...GUARD_MIGRATIONS, ...REGISTRY_ORDER_MIGRATIONS, ...CONTROL_ORDER_MIGRATIONS];
export const SCHEMA_VERSION = COLLECTOR_MIGRATIONS.length;
export const REGISTRY_FILE = 'registry.sqlite';
export const THROUGHPUT_FILE = 'throughput.sqlite';

/** Opens (creating and migrating if needed) the registry, control and alert tables of `dataDir`'s deployment. */
export function openCollectorStore(dataDir: string): Promise<Store> {
  return openStore(storeLocation(dataDir, REGISTRY_FILE), { migrations: COLLECTOR_MIGRATIONS, name: 'registry' });
}

/** The throughput service's running tests and site leases (a file of its own on SQLite: written at every test). */
export function openThroughputStore(dataDir: string): Promise<Store> {
  return openStore(storeLocation(dataDir, THROUGHPUT_FILE), { migrations: THROUGHPUT_MIGRATIONS, name: 'throughput', busyTimeoutMs: 2000 });
}

/**
 * What `db import-sqlite` copies from registry.sqlite, parents before children. The throughput file is not
 * copied: its rows are running tests and leases that expire within minutes.
 */
export const IMPORT_TABLES: readonly ImportTable[] = [
  { name: 'sites' },
  { name: 'enrollment_codes', order: 'rowid' },
  { name: 'devices', order: 'rowid' },
  { name: 'audit_log', identity: 'id' },
  { name: 'agent_configs', identity: 'version' },
  { name: 'device_config_state' },
  { name: 'control_commands', order: 'rowid' },
  { name: 'control_presence' },
  { name: 'alert_state' },
  { name: 'alert_outbox', identity: 'id' },
  { name: 'alert_silences' },
  { name: 'alert_meta' },
  { name: 'device_keys' },
  { name: 'evidence_heads' },
  { name: 'evidence_counters' },
  { name: 'dead_letters', identity: 'id' },
  { name: 'device_targets' },
  { name: 'device_flags' },
  { name: 'site_tag_versions' },
  { name: 'clock_corrections' },
];
