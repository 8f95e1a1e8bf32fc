// Named leases: several collector processes (on one machine, or on several sharing PostgreSQL) and a job
// that must run in one of them only (the presence sweep, the alert evaluator, the nightly verdicts) takes
// a lease that lapses if its holder dies. One table, `leases`, serves every job (the control channel's
// migration creates it). The SQL is the same for both backends.
import type { SqlRunner } from './sql-runner.ts';

export const LEASES_TABLE_SQLITE = `CREATE TABLE leases (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   );`;

export const LEASES_TABLE_POSTGRES = `CREATE TABLE leases (
     name TEXT PRIMARY KEY,
     holder TEXT NOT NULL,
     expires_at BIGINT NOT NULL
   );`;

/** Takes or renews a lease; true while this holder has it. The upsert is one atomic statement in both engines. */
export async function tryLease(db: SqlRunner, name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
  const row = await db.get<{ holder: string }>(
    `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @exp)
     ON CONFLICT(name) DO UPDATE SET holder = @holder, expires_at = @exp WHERE leases.holder = @holder OR leases.expires_at <= @now
     RETURNING holder`,
    { name, holder, exp: now + ttlMs, now },
  );
  return row?.holder === holder;
}

/** Gives a lease up at once, so another process can take it without waiting for it to lapse. */
export async function releaseLease(db: SqlRunner, name: string, holder: string): Promise<void> {
  await db.run('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?', name, holder);
}
