// The SQLite backend of the store: one file, WAL mode, migrations tracked in `PRAGMA user_version`, so an
// upgraded collector migrates an old file in place.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { releaseLeaseSqlite, tryLeaseSqlite } from './leases.ts';
import { statementCache } from './statements.ts';
import { checkMigrations, type Migration, type Store } from './store.ts';

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
  if (current === migrations.length) return;
  // Each step and its version bump commit together, so a crash never leaves a half-migrated file. The
  // version is read again under the write lock: collector processes starting together migrate once.
  const step = db.transaction(() => {
    const v = db.pragma('user_version', { simple: true }) as number;
    if (v >= migrations.length) return false;
    db.exec(migrations[v]!.sqlite);
    db.pragma(`user_version = ${v + 1}`);
    return true;
  });
  while (step.immediate());
}

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  readonly sql: (source: string) => Database.Statement;

  private constructor(readonly db: Database.Database) {
    this.sql = statementCache(db);
  }

  /** Opens (creating the file and its directory if needed) in WAL mode and migrates it. */
  static open(file: string, options: SqliteOptions): SqliteStore {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const db = new Database(file);
    // WAL lets /healthz and token lookups read while an enrollment writes; busy_timeout covers a CLI
    // command writing at the same moment as the running collector.
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('foreign_keys = ON');
    try {
      migrateSqlite(db, options.migrations, options.name);
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqliteStore(db);
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  prepare(source: string): Database.Statement {
    return this.db.prepare(source);
  }

  transaction<T>(fn: () => T): T {
    // IMMEDIATE takes the write lock before the first read, so two processes racing for the same row
    // (the last use of an enrollment code, the last test slot) cannot both win it.
    return this.db.transaction(fn).immediate();
  }

  tryLease(name: string, holder: string, now: number, ttlMs: number): boolean {
    return tryLeaseSqlite(this.sql, name, holder, now, ttlMs);
  }

  releaseLease(name: string, holder: string): void {
    releaseLeaseSqlite(this.sql, name, holder);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
