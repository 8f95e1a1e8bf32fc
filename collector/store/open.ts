// Where a store lives: a SQLite file (the default) or a PostgreSQL database (SONGCHECK_DATABASE_URL).
import { createHash } from 'node:crypto';
import path from 'node:path';
import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Migration, Store } from './store.ts';

export type StoreLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; schema?: string };

export interface OpenStoreOptions {
  migrations: readonly Migration[];
  /** The schema's name: the SQLite file's in errors, the row in PostgreSQL's songcheck_schema table. */
  name: string;
  /** SQLite: how long a writer waits for another connection's lock. */
  busyTimeoutMs?: number;
}

export async function openStore(location: StoreLocation, options: OpenStoreOptions): Promise<Store> {
  if (location.kind === 'sqlite') return SqliteStore.open(location.file, options);
  return PostgresStore.open(location.url, { ...options, ...(location.schema ? { schema: location.schema } : {}) });
}

/**
 * Where the state of `dataDir` lives: `<dataDir>/<file>` (SQLite), or, when SONGCHECK_DATABASE_URL is set,
 * that PostgreSQL database, shared by every collector pointed at it. Under the tests' PostgreSQL mode
 * (SONGCHECK_TEST_DATABASE=postgres) each data directory gets its own schema, derived from its path, so
 * tests written for a fresh SQLite file per directory stay apart, and a CLI child process given the same
 * directory finds the same tables.
 */
export function storeLocation(dataDir: string, file: string, env: NodeJS.ProcessEnv = process.env): StoreLocation {
  const url = env.SONGCHECK_DATABASE_URL;
  if (!url) return { kind: 'sqlite', file: path.join(dataDir, file) };
  if (env.SONGCHECK_TEST_DATABASE === 'postgres') {
    return { kind: 'postgres', url, schema: `t_${createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 20)}` };
  }
  return { kind: 'postgres', url };
}
