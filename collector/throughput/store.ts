// Shared state of the throughput service, in its own SQLite file next to the registry
// (`<SONGCHECK_DATA_DIR>/throughput.sqlite`), so every collector process (SONGCHECK_WORKERS) sees the same
// running tests and site leases. Rows carry an expiry: a process that dies mid-test frees its slot when the
// row expires, never by someone's clean-up.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

export type TestKind = 'ndt7_download' | 'ndt7_upload' | 'http_download' | 'http_upload';

export type LeaseAnswer =
  | { granted: true; leaseId: string; expiresAt: number }
  | { granted: false; retryAfterMs: number; heldBy: string };

export class ThroughputStore {
  private readonly db: Database.Database;
  private readonly stmts: Record<string, Database.Statement>;

  constructor(
    file: string,
    private readonly now: () => number = Date.now,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 2000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS running_tests (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, device TEXT NOT NULL, started_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS site_leases (
        site TEXT PRIMARY KEY, lease_id TEXT NOT NULL, device TEXT NOT NULL, granted_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
      );`);
    const s = (sql: string) => this.db.prepare(sql);
    this.stmts = {
      purgeTests: s('DELETE FROM running_tests WHERE expires_at <= ?'),
      countTests: s('SELECT COUNT(*) AS n FROM running_tests WHERE expires_at > ?'),
      countKind: s("SELECT COUNT(*) AS n FROM running_tests WHERE expires_at > ? AND kind LIKE ?"),
      insertTest: s('INSERT INTO running_tests (id, kind, device, started_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
      endTest: s('DELETE FROM running_tests WHERE id = ?'),
      getLease: s('SELECT lease_id, device, expires_at FROM site_leases WHERE site = ?'),
      putLease: s('INSERT OR REPLACE INTO site_leases (site, lease_id, device, granted_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
      dropLease: s('DELETE FROM site_leases WHERE site = ? AND lease_id = ?'),
    };
  }

  static open(dataDir: string, now?: () => number): ThroughputStore {
    return new ThroughputStore(path.join(dataDir, 'throughput.sqlite'), now);
  }

  /**
   * Takes a test slot when fewer than `max` tests of the same family (ndt7 or http) are running in any
   * process; the slot expires by itself after `ttlMs`. Returns the slot id, or undefined when full.
   */
  tryStartTest(kind: TestKind, device: string, max: number, ttlMs: number): string | undefined {
    if (!this.db.open) return undefined;
    const family = kind.startsWith('ndt7') ? 'ndt7%' : 'http%';
    const run = this.db.transaction(() => {
      const t = this.now();
      this.stmts.purgeTests!.run(t);
      const n = (this.stmts.countKind!.get(t, family) as { n: number }).n;
      if (n >= max) return undefined;
      const id = randomUUID();
      this.stmts.insertTest!.run(id, kind, device, t, t + ttlMs);
      return id;
    });
    return run.immediate();
  }

  endTest(id: string): void {
    if (this.db.open) this.stmts.endTest!.run(id);
  }

  running(family?: 'ndt7' | 'http'): number {
    if (!this.db.open) return 0;
    const t = this.now();
    if (!family) return (this.stmts.countTests!.get(t) as { n: number }).n;
    return (this.stmts.countKind!.get(t, `${family}%`) as { n: number }).n;
  }

  /**
   * One throughput test at a time per site: grants the site to `device` for `durationMs` unless another
   * device holds an unexpired lease. The holder asking again renews its lease.
   */
  acquireLease(site: string, device: string, durationMs: number): LeaseAnswer {
    const run = this.db.transaction((): LeaseAnswer => {
      const t = this.now();
      const held = this.stmts.getLease!.get(site) as { lease_id: string; device: string; expires_at: number } | undefined;
      if (held && held.expires_at > t && held.device !== device) {
        return { granted: false, retryAfterMs: held.expires_at - t, heldBy: held.device };
      }
      const leaseId = randomUUID();
      this.stmts.putLease!.run(site, leaseId, device, t, t + durationMs);
      return { granted: true, leaseId, expiresAt: t + durationMs };
    });
    return run.immediate();
  }

  releaseLease(site: string, leaseId: string): boolean {
    return this.stmts.dropLease!.run(site, leaseId).changes > 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
