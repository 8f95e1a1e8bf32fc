// The collector's SQL store, the one interface every feature's tables are reached through (registry,
// control channel, alerts, throughput). Infrastructure only: it knows no feature's tables. Each feature
// contributes its migrations (`<feature>/migrations.ts`, both dialects) and collector/database.ts lists them.
//
// Two backends implement it: SQLite (collector/store/sqlite.ts, the embedded default: one file in the data
// directory) and PostgreSQL (collector/store/postgres.ts, selected by SONGCHECK_DATABASE_URL: the state
// several collectors on several machines share). Features write their SQL once, in the subset both speak,
// with SQLite's placeholders (`?`, or `@name` with one object); the interface is asynchronous because
// PostgreSQL is across a network.
import { releaseLease, tryLease } from './leases.ts';
import type { SqlRunner } from './sql-runner.ts';

export type { SqlArgs, SqlValue } from './placeholders.ts';

/** Which SQL engine a store runs on; features branch on it only where the dialects differ. */
export type Backend = 'sqlite' | 'postgres';

/**
 * One step of a schema, contributed by the feature that owns its tables. Versions are consecutive
 * (1, 2, 3, ...) across all features of one schema, because released SQLite files record the last applied
 * version as one number.
 */
export interface Migration {
  version: number;
  /** The feature whose tables this creates or changes (for errors and docs/architecture.md). */
  owner: string;
  /** The statements in SQLite's dialect. */
  sqlite: string;
  /** The same step in PostgreSQL's dialect (BIGINT for epoch milliseconds, identity columns). */
  postgres: string;
}

/** Statements, run directly or inside a transaction. */
// SqlRunner lives in its own module so that leases.ts (imported here) can use it without an import circle.
export type { SqlRunner } from './sql-runner.ts';

export interface Store extends SqlRunner {
  readonly backend: Backend;
  /** False once closed; feature stores answer "nothing" instead of throwing after shutdown. */
  readonly isOpen: boolean;
  /**
   * Runs `fn` in one write transaction, taken before its first read (SQLite: BEGIN IMMEDIATE; PostgreSQL:
   * an advisory lock): all of it happens, or none, and no other writer interleaves. `fn` uses only `tx`.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /**
   * Calls `fn` when another process notified `channel` (PostgreSQL LISTEN). SQLite never calls it: its
   * callers poll, which also stays the backstop on PostgreSQL. Returns the unsubscribe function.
   */
  listen(channel: string, fn: () => void): () => void;
  /** Takes or renews a named lease; true while `holder` has it. A crashed holder's lease lapses after ttlMs. */
  tryLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives a lease up at once, so another process can take it without waiting for it to lapse. */
  releaseLease(name: string, holder: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The column that orders a table's rows as they were written, the tie-break of lists within one
 * millisecond: SQLite's rowid, or on PostgreSQL the table's `seq` identity column (which the table's
 * migration must add: PostgreSQL's ctid is no order, an UPDATE moves the row).
 */
export function insertionOrder(store: Pick<Store, 'backend'>, alias: string): string {
  return store.backend === 'sqlite' ? `${alias}.rowid` : `${alias}.seq`;
}

/** Checks that a list of migrations is numbered 1..n without gaps or repeats (a programming error otherwise). */
export function checkMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} (from ${m.owner}) is numbered ${m.version}; versions must run 1, 2, 3, ... in order`);
  });
}

/**
 * A Store whose statements run in the transaction `tx`: code written against a Store (a feature store's
 * methods, leases) runs inside a caller's transaction; a nested transaction() is part of the outer one.
 */
export function storeInTransaction(store: Store, tx: SqlRunner): Store {
  return {
    backend: store.backend,
    get isOpen() {
      return store.isOpen;
    },
    all: (source, ...args) => tx.all(source, ...args),
    get: (source, ...args) => tx.get(source, ...args),
    run: (source, ...args) => tx.run(source, ...args),
    notify: (channel) => tx.notify(channel),
    transaction: (fn) => fn(tx),
    listen: (channel, fn) => store.listen(channel, fn),
    tryLease: (name, holder, now, ttlMs) => tryLease(tx, name, holder, now, ttlMs),
    releaseLease: (name, holder) => releaseLease(tx, name, holder),
    close: async () => {},
  };
}
