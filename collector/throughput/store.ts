// Shared state of the throughput service: running tests and per-site leases, in their own SQLite file next
// to the registry (`<SONGCHECK_DATA_DIR>/throughput.sqlite`) or in the PostgreSQL database every collector
// shares, so all collector processes (SONGCHECK_WORKERS, other machines) see the same running tests and
// site leases. Rows carry an expiry: a process that dies mid-test frees its slot when the row expires,
// never by someone's clean-up.
import { randomUUID } from 'node:crypto';
import { openThroughputStore } from '../database.ts';
import type { Store } from '../store/store.ts';

export type TestKind = 'ndt7_download' | 'ndt7_upload' | 'http_download' | 'http_upload';

export type LeaseAnswer =
  | { granted: true; leaseId: string; expiresAt: number }
  | { granted: false; retryAfterMs: number; heldBy: string };

export class ThroughputStore {
  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  static async open(dataDir: string, now?: () => number): Promise<ThroughputStore> {
    return new ThroughputStore(await openThroughputStore(dataDir), now);
  }

  /**
   * Takes a test slot when fewer than `max` tests of the same family (ndt7 or http) are running in any
   * process; the slot expires by itself after `ttlMs`. Returns the slot id, or undefined when full.
   */
  async tryStartTest(kind: TestKind, device: string, max: number, ttlMs: number): Promise<string | undefined> {
    if (!this.db.isOpen) return undefined;
    const family = kind.startsWith('ndt7') ? 'ndt7%' : 'http%';
    return this.db.transaction(async (tx) => {
      const t = this.now();
      await tx.run('DELETE FROM running_tests WHERE expires_at <= ?', t);
      const n = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM running_tests WHERE expires_at > ? AND kind LIKE ?', t, family))!.n;
      if (n >= max) return undefined;
      const id = randomUUID();
      await tx.run('INSERT INTO running_tests (id, kind, device, started_at, expires_at) VALUES (?, ?, ?, ?, ?)', id, kind, device, t, t + ttlMs);
      return id;
    });
  }

  /** Frees a slot. Never rejects: if the store cannot be reached the slot expires by itself (ttlMs). */
  async endTest(id: string): Promise<void> {
    try {
      if (this.db.isOpen) await this.db.run('DELETE FROM running_tests WHERE id = ?', id);
    } catch {
      // the row's expiry frees it
    }
  }

  async running(family?: 'ndt7' | 'http'): Promise<number> {
    if (!this.db.isOpen) return 0;
    const t = this.now();
    if (!family) return (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM running_tests WHERE expires_at > ?', t))!.n;
    return (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM running_tests WHERE expires_at > ? AND kind LIKE ?', t, `${family}%`))!.n;
  }

  /**
   * One throughput test at a time per site: grants the site to `device` for `durationMs` unless another
   * device holds an unexpired lease. The holder asking again renews its lease.
   */
  async acquireLease(site: string, device: string, durationMs: number): Promise<LeaseAnswer> {
    return this.db.transaction(async (tx): Promise<LeaseAnswer> => {
      const t = this.now();
      const held = await tx.get<{ lease_id: string; device: string; expires_at: number }>('SELECT lease_id, device, expires_at FROM site_leases WHERE site = ?', site);
      if (held && held.expires_at > t && held.device !== device) {
        return { granted: false, retryAfterMs: held.expires_at - t, heldBy: held.device };
      }
      const leaseId = randomUUID();
      await tx.run(
        `INSERT INTO site_leases (site, lease_id, device, granted_at, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (site) DO UPDATE SET lease_id = excluded.lease_id, device = excluded.device, granted_at = excluded.granted_at, expires_at = excluded.expires_at`,
        site, leaseId, device, t, t + durationMs,
      );
      return { granted: true, leaseId, expiresAt: t + durationMs };
    });
  }

  async releaseLease(site: string, leaseId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM site_leases WHERE site = ? AND lease_id = ?', site, leaseId)).changes > 0;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
