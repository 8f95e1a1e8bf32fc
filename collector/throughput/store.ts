// Shared state of the throughput service, in its own SQLite file next to the registry
// (`<SONGCHECK_DATA_DIR>/throughput.sqlite`), so every collector process (SONGCHECK_WORKERS) sees the same
// running tests and site leases. Rows carry an expiry: a process that dies mid-test frees its slot when the
// row expires, never by someone's clean-up.
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { SqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/store.ts';
import { THROUGHPUT_MIGRATIONS } from './migrations.ts';

export type TestKind = 'ndt7_download' | 'ndt7_upload' | 'http_download' | 'http_upload';

export type LeaseAnswer =
  | { granted: true; leaseId: string; expiresAt: number }
  | { granted: false; retryAfterMs: number; heldBy: string };

export class ThroughputStore {
  private readonly db: Store;

  constructor(
    file: string,
    private readonly now: () => number = Date.now,
  ) {
    this.db = SqliteStore.open(file, { migrations: THROUGHPUT_MIGRATIONS, name: 'throughput', busyTimeoutMs: 2000 });
  }

  static open(dataDir: string, now?: () => number): ThroughputStore {
    return new ThroughputStore(path.join(dataDir, 'throughput.sqlite'), now);
  }

  /**
   * Takes a test slot when fewer than `max` tests of the same family (ndt7 or http) are running in any
   * process; the slot expires by itself after `ttlMs`. Returns the slot id, or undefined when full.
   */
  tryStartTest(kind: TestKind, device: string, max: number, ttlMs: number): string | undefined {
    if (!this.db.isOpen) return undefined;
    const family = kind.startsWith('ndt7') ? 'ndt7%' : 'http%';
    return this.db.transaction(() => {
      const t = this.now();
      this.db.sql('DELETE FROM running_tests WHERE expires_at <= ?').run(t);
      const n = (this.db.sql('SELECT COUNT(*) AS n FROM running_tests WHERE expires_at > ? AND kind LIKE ?').get(t, family) as { n: number }).n;
      if (n >= max) return undefined;
      const id = randomUUID();
      this.db.sql('INSERT INTO running_tests (id, kind, device, started_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(id, kind, device, t, t + ttlMs);
      return id;
    });
  }

  endTest(id: string): void {
    if (this.db.isOpen) this.db.sql('DELETE FROM running_tests WHERE id = ?').run(id);
  }

  running(family?: 'ndt7' | 'http'): number {
    if (!this.db.isOpen) return 0;
    const t = this.now();
    if (!family) return (this.db.sql('SELECT COUNT(*) AS n FROM running_tests WHERE expires_at > ?').get(t) as { n: number }).n;
    return (this.db.sql('SELECT COUNT(*) AS n FROM running_tests WHERE expires_at > ? AND kind LIKE ?').get(t, `${family}%`) as { n: number }).n;
  }

  /**
   * One throughput test at a time per site: grants the site to `device` for `durationMs` unless another
   * device holds an unexpired lease. The holder asking again renews its lease.
   */
  acquireLease(site: string, device: string, durationMs: number): LeaseAnswer {
    return this.db.transaction((): LeaseAnswer => {
      const t = this.now();
      const held = this.db.sql('SELECT lease_id, device, expires_at FROM site_leases WHERE site = ?').get(site) as { lease_id: string; device: string; expires_at: number } | undefined;
      if (held && held.expires_at > t && held.device !== device) {
        return { granted: false, retryAfterMs: held.expires_at - t, heldBy: held.device };
      }
      const leaseId = randomUUID();
      this.db.sql('INSERT OR REPLACE INTO site_leases (site, lease_id, device, granted_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(site, leaseId, device, t, t + durationMs);
      return { granted: true, leaseId, expiresAt: t + durationMs };
    });
  }

  releaseLease(site: string, leaseId: string): boolean {
    return this.db.sql('DELETE FROM site_leases WHERE site = ? AND lease_id = ?').run(site, leaseId).changes > 0;
  }

  close(): void {
    this.db.close();
  }
}
