// The collector's database: which feature contributes which migration, in the order released files
// recorded them. A new table goes in its feature's `migrations.ts` with the next version, listed here.
import path from 'node:path';
import { ALERT_MIGRATIONS } from './alerts/migrations.ts';
import { CONTROL_MIGRATIONS } from './control/migrations.ts';
import { EVIDENCE_MIGRATIONS } from './evidence/migrations.ts';
import { GUARD_MIGRATIONS } from './guards/migrations.ts';
import { REGISTRY_MIGRATIONS } from './registry/migrations.ts';
import { SqliteStore } from './store/sqlite.ts';
import type { Migration, Store } from './store/store.ts';

export const COLLECTOR_MIGRATIONS: readonly Migration[] = [...REGISTRY_MIGRATIONS, ...CONTROL_MIGRATIONS, ...ALERT_MIGRATIONS, ...EVIDENCE_MIGRATIONS, ...GUARD_MIGRATIONS];
export const SCHEMA_VERSION = COLLECTOR_MIGRATIONS.length;
export const REGISTRY_FILE = 'registry.sqlite';

/** Opens (creating if needed) `<dataDir>/registry.sqlite` and migrates it; each caller gets its own connection. */
export function openCollectorStore(dataDir: string): Store {
  return SqliteStore.open(path.join(dataDir, REGISTRY_FILE), { migrations: COLLECTOR_MIGRATIONS, name: 'registry' });
}
