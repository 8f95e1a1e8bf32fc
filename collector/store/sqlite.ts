// The SQLite backend of the store: one file, WAL mode, migrations tracked in `PRAGMA user_version`, so an
// upgraded collector migrates an old file in place. better-sqlite3 is synchronous; the store's interface is
// asynchronous for PostgreSQL's sake, so a transaction that awaits must keep other callers' statements of
// this connection out of it: they wait for it to end (one queue per connection, one connection per file).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { releaseLease, tryLease } from './leases.ts';
import type { SqlArgs } from './placeholders.ts';
import { checkMigrations, type Migration, type SqlRunner, type Store } from './store.ts';

export interface SqliteOptions {
  migrations: readonly Migration[];
  /** How the file is called in errors ("registry", "throughput"). */
  name: string;
  /** How long a writer waits for another connection's lock (the CLI writing while serve runs). */
  busyTimeoutMs?: number;
}

/** Brings a database up to the last migration; refuses a file written by a newer collector. */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[], name: string): void {
  checkMigrations(migrations);
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(`${name} schema version ${current} is newer than this collector (${migrations.length}); upgrade the collector`);
  }
  for (let v = current; v < migrations.length; v++) {
    // Each step and its version bump commit together, so a crash never leaves a half-migrated file.
    db.transaction(() => {
      db.exec(migrations[v]!.sqlite);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Runs statements on the connection at once (better-sqlite3 is synchronous). */
class SqliteRunner implements SqlRunner {
  // Compiling SQL costs more than running the small lookups the features repeat all day: once per text.
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  statement(source: string): Database.Statement {
    let stmt = this.statements.get(source);
    if (!stmt) {
      stmt = this.db.prepare(source);
      // SQL built at run time (a variable IN list) must not grow the cache without bound.
      if (this.statements.size > 2000) this.statements.clear();
      this.statements.set(source, stmt);
    }
    return stmt;
  }

  allNow<T>(source: string, args: SqlArgs): T[] {
    const stmt = this.statement(source);
    if (!stmt.reader) {
      stmt.run(...args);
      return [];
    }
    return stmt.all(...args) as T[];
  }

  runNow(source: string, args: SqlArgs): { changes: number } {
    const stmt = this.statement(source);
    if (stmt.reader) return { changes: stmt.all(...args).length }; // INSERT ... RETURNING
    return { changes: stmt.run(...args).changes };
  }

  async all<T>(source: string, ...args: SqlArgs): Promise<T[]> {
    return this.allNow<T>(source, args);
  }

  async get<T>(source: string, ...args: SqlArgs): Promise<T | undefined> {
    const stmt = this.statement(source);
    if (!stmt.reader) {
      stmt.run(...args);
      return undefined;
    }
    return stmt.get(...args) as T | undefined;
  }

  async run(source: string, ...args: SqlArgs): Promise<{ changes: number }> {
    return this.runNow(source, args);
  }

  async notify(): Promise<void> {
    // Processes sharing a SQLite file poll; there is no one to tell.
  }
}

/**
 * One connection per file per process, shared by every feature store of the process (the registry, the
 * control channel and the alerts each open the file). Two connections of one process must not both hold a
 * transaction across an await: the second's BEGIN IMMEDIATE would block the thread on busy_timeout while the
 * first, which would release the lock, cannot run. One connection and its queue rule that out.
 */
class SharedConnection {
  readonly runner: SqliteRunner;
  users = 0;
  /** Resolves when the transaction in progress (if any) has ended; statements outside it wait for it. */
  idle: Promise<void> = Promise.resolve();
  busy = false;

  constructor(
    readonly file: string,
    readonly db: Database.Database,
  ) {
    this.runner = new SqliteRunner(db);
  }

}

const connections = new Map<string, SharedConnection>();

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  private closed = false;

  private constructor(private readonly conn: SharedConnection) {}

  /** Opens (creating the file and its directory if needed) in WAL mode and migrates it. */
  static open(file: string, options: SqliteOptions): SqliteStore {
    const key = path.resolve(file);
    let conn = connections.get(key);
    if (!conn || !conn.db.open) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const db = new Database(file);
      // WAL lets /healthz and token lookups read while an enrollment writes; busy_timeout covers a CLI
      // command writing at the same moment as the running collector.
      db.pragma('journal_mode = WAL');
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      db.pragma('foreign_keys = ON');
      conn = new SharedConnection(key, db);
    }
    try {
      migrateSqlite(conn.db, options.migrations, options.name);
    } catch (error) {
      if (conn.users === 0) conn.db.close();
      throw error;
    }
    conn.users++;
    connections.set(key, conn);
    return new SqliteStore(conn);
  }

  /** The connection, for the one-way copy into PostgreSQL (collector/store/import-sqlite.ts). */
  get db(): Database.Database {
    return this.conn.db;
  }

  get isOpen(): boolean {
    return !this.closed && this.conn.db.open;
  }

  async all<T>(source: string, ...args: SqlArgs): Promise<T[]> {
    while (this.conn.busy) await this.conn.idle;
    return this.conn.runner.allNow<T>(source, args);
  }

  async get<T>(source: string, ...args: SqlArgs): Promise<T | undefined> {
    while (this.conn.busy) await this.conn.idle;
    return this.conn.runner.get<T>(source, ...args);
  }

  async run(source: string, ...args: SqlArgs): Promise<{ changes: number }> {
    while (this.conn.busy) await this.conn.idle;
    return this.conn.runner.runNow(source, args);
  }

  async notify(): Promise<void> {}

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const conn = this.conn;
    // Checked and taken in one step (no await in between), so two waiting transactions cannot both start.
    while (conn.busy) await conn.idle;
    conn.busy = true;
    let done!: () => void;
    conn.idle = new Promise((resolve) => (done = resolve));
    try {
      // IMMEDIATE takes the write lock before the first read, so two processes racing for the same row
      // (the last use of an enrollment code, the last test slot) cannot both win it.
      conn.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(conn.runner);
        conn.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (conn.db.inTransaction) conn.db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      conn.busy = false;
      done();
    }
  }

  listen(): () => void {
    return () => {};
  }

  tryLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    return tryLease(this, name, holder, now, ttlMs);
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return releaseLease(this, name, holder);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const conn = this.conn;
    conn.users--;
    if (conn.users > 0) return;
    while (conn.busy) await conn.idle;
    if (connections.get(conn.file) === conn) connections.delete(conn.file);
    if (conn.db.open) conn.db.close();
  }
}
