// Named leases in the registry file: several collector processes share one SQLite file, and a job that must
// run in one of them only (the presence sweep, the alert evaluator) takes a lease that lapses if its holder
// dies. One table (`leases`, migration 3) serves every job.
import type Database from 'better-sqlite3';

/** Takes or renews a lease; true while this holder has it. A crashed holder's lease lapses after ttlMs. */
export function tryLease(db: Database.Database, name: string, holder: string, now: number, ttlMs: number): boolean {
  db.prepare(
    `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @exp)
     ON CONFLICT(name) DO UPDATE SET holder = @holder, expires_at = @exp WHERE leases.holder = @holder OR leases.expires_at <= @now`,
  ).run({ name, holder, exp: now + ttlMs, now });
  return (db.prepare('SELECT holder FROM leases WHERE name = ?').get(name) as { holder: string } | undefined)?.holder === holder;
}

/** Gives a lease up at once, so another process can take it without waiting for it to lapse. */
export function releaseLease(db: Database.Database, name: string, holder: string): void {
  db.prepare('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?').run(name, holder);
}
