// The collector's SQL store, the one interface every feature's tables are reached through (registry,
// control channel, alerts, throughput). Infrastructure only: it knows no feature's tables. Each feature
// contributes its migrations (`<feature>/migrations.ts`) and the composition in collector/database.ts
// lists them in order.
//
// SQLite (collector/store/sqlite.ts) is the only backend today. A second backend (PostgreSQL, issue 18)
// implements this same interface in its own file and adds its dialect's text to each Migration; features
// never import a driver, only `Store`.
import type { Statement } from 'better-sqlite3';

/** Which SQL engine a store runs on; features branch on it only where the dialects differ. */
export type Backend = 'sqlite';

/**
 * One step of a schema, contributed by the feature that owns its tables. Versions are global and
 * consecutive (1, 2, 3, ...) across all features of one database file, because released files record
 * the last applied version as one number.
 */
export interface Migration {
  version: number;
  /** The feature whose tables this creates or changes (for errors and docs/architecture.md). */
  owner: string;
  /** The statements in SQLite's dialect. */
  sqlite: string;
}

export interface Store {
  readonly backend: Backend;
  /** False once closed; feature stores answer "nothing" instead of throwing after shutdown. */
  readonly isOpen: boolean;
  /** A prepared statement for this SQL text, prepared once per connection and reused. */
  sql(source: string): Statement;
  /** A statement prepared for this call only (SQL built at run time, e.g. a variable IN list). */
  prepare(source: string): Statement;
  /** Runs `fn` in one write transaction taken before the first read: all of it happens, or none. */
  transaction<T>(fn: () => T): T;
  /** Takes or renews a named lease; true while `holder` has it. A crashed holder's lease lapses after ttlMs. */
  tryLease(name: string, holder: string, now: number, ttlMs: number): boolean;
  /** Gives a lease up at once, so another process can take it without waiting for it to lapse. */
  releaseLease(name: string, holder: string): void;
  close(): void;
}

/** Checks that a list of migrations is numbered 1..n without gaps or repeats (a programming error otherwise). */
export function checkMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} (from ${m.owner}) is numbered ${m.version}; versions must run 1, 2, 3, ... in order`);
  });
}
