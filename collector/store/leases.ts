// Named leases: several collector processes share one database, and a job that must run in one of them
// only (the presence sweep, the alert evaluator) takes a lease that lapses if its holder dies. One table
// serves every job; it was released inside migration 3, so the control channel's migration carries it.
import type { Statement } from 'better-sqlite3';

export const LEASES_TABLE_SQLITE = `CREATE TABLE leases (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );`;

/** Takes or renews a lease; true while this holder has it. */
export function tryLeaseSqlite(sql: (source: string) => Statement, name: string, holder: string, now: number, ttlMs: number): boolean {
  sql(
    `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @exp)
     ON CONFLICT(name) DO UPDATE SET holder = @holder, expires_at = @exp WHERE leases.holder = @holder OR leases.expires_at <= @now`,
  ).run({ name, holder, exp: now + ttlMs, now });
  return (sql('SELECT holder FROM leases WHERE name = ?').get(name) as { holder: string } | undefined)?.holder === holder;
}

export function releaseLeaseSqlite(sql: (source: string) => Statement, name: string, holder: string): void {
  sql('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?').run(name, holder);
}
