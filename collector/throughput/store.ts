// Shared state of the throughput service: running tests and per-site leases, in their own SQLite file next
// to the registry (`<SONGCHECK_DATA_DIR>/throughput.sqlite`) or in the PostgreSQL database every collector
// shares, so all collector processes (SONGCHECK_WORKERS, other machines) see the same running tests and
// site leases. Rows carry an expiry: a process that dies mid-test frees its slot when the row expires,
// never by someone's clean-up.
import { randomUUID } from 'node:crypto';
import { openThroughputStore } from '../database.ts';
import type { SqlRunner, Store } from '../store/store.ts';

export type TestKind = 'ndt7_download' | 'ndt7_upload' | 'http_download' | 'http_upload';

/** What admission asks for (see tryStartTest). */
export interface SlotRequest {
  kind: TestKind;
  device: string;
  site: string;
  /** Tests of this family running at once across processes. */
  max: number;
  /** HTTP streams one device may hold at once (an ndt7 test is always one). */
  httpPerDevice: number;
  ttlMs: number;
}

/** A slot, or why not: the server is full, the device already tests, or another device of its site does. */
export type SlotAnswer =
  | { slot: string }
  | { refused: 'server_full' }
  | { refused: 'device_busy'; running: number }
  | { refused: 'site_busy'; retryAfterMs: number; heldBy: string };

/** Lease ids taken by admission itself start with this; the agent's own leases (random UUIDs) never do. */
const ADMISSION_LEASE = 'admission:';

export type LeaseAnswer =
  | { granted: true; leaseId: string; expiresAt: number }
  | { granted: false; retryAfterMs: number; heldBy: string };

function siteLease(tx: SqlRunner, site: string) {
  return tx.get<{ lease_id: string; device: string; expires_at: number }>('SELECT lease_id, device, expires_at FROM site_leases WHERE site = ?', site);
}

/** Gives the site's lease to `device` (replacing an expired or own lease). */
async function grantSiteLease(tx: SqlRunner, site: string, leaseId: string, device: string, grantedAt: number, expiresAt: number): Promise<void> {
  await tx.run(
    `INSERT INTO site_leases (site, lease_id, device, granted_at, expires_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (site) DO UPDATE SET lease_id = excluded.lease_id, device = excluded.device, granted_at = excluded.granted_at, expires_at = excluded.expires_at`,
    site, leaseId, device, grantedAt, expiresAt,
  );
}

export class ThroughputStore {
  constructor(
    private readonly db: Store,
    private readonly now: () => number = Date.now,
  ) {}

  static async open(dataDir: string, now?: () => number): Promise<ThroughputStore> {
    return new ThroughputStore(await openThroughputStore(dataDir), now);
  }

  /**
   * Admission in one transaction (docs/throughput.md "Budgets"): a slot is taken only when
   * - fewer than `max` tests of the same family (ndt7 or http) run in any process;
   * - the device runs nothing of the other family and, for ndt7, nothing at all; for http, fewer than
   *   `httpPerDevice` streams (one test at a time per device: an ndt7 test is one socket, an HTTP test K);
   * - no other device of the site holds the site's lease. When no one holds it, the device takes it here,
   *   before any byte flows (an `admission:` lease, given back when its last slot ends); a lease the agent
   *   took itself (POST /throughput/lease) is kept and lengthened to cover the slot.
   * The slot expires by itself after `ttlMs`, so a process that dies mid-test frees it.
   */
  async tryStartTest(want: SlotRequest): Promise<SlotAnswer> {
    if (!this.db.isOpen) return { refused: 'server_full' };
    const { kind, device, site, max, httpPerDevice, ttlMs } = want;
    const ndt7 = kind.startsWith('ndt7');
    return this.db.transaction(async (tx): Promise<SlotAnswer> => {
      const t = this.now();
      await tx.run('DELETE FROM running_tests WHERE expires_at <= ?', t);
      const mine = await tx.all<{ kind: string }>('SELECT kind FROM running_tests WHERE device = ?', device);
      const mineNdt7 = mine.filter((r) => r.kind.startsWith('ndt7')).length;
      if (ndt7 ? mine.length > 0 : mineNdt7 > 0 || mine.length >= httpPerDevice) return { refused: 'device_busy', running: mine.length };
      const n = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM running_tests WHERE kind LIKE ?', ndt7 ? 'ndt7%' : 'http%'))!.n;
      if (n >= max) return { refused: 'server_full' };
      const held = await siteLease(tx, site);
      const live = held !== undefined && held.expires_at > t;
      if (live && held.device !== device) return { refused: 'site_busy', retryAfterMs: held.expires_at - t, heldBy: held.device };
      if (!live) {
        await grantSiteLease(tx, site, `${ADMISSION_LEASE}${randomUUID()}`, device, t, t + ttlMs);
      } else if (held.expires_at < t + ttlMs) {
        await tx.run('UPDATE site_leases SET expires_at = ? WHERE site = ? AND lease_id = ?', t + ttlMs, site, held.lease_id);
      }
      const id = randomUUID();
      await tx.run('INSERT INTO running_tests (id, kind, device, started_at, expires_at) VALUES (?, ?, ?, ?, ?)', id, kind, device, t, t + ttlMs);
      return { slot: id };
    });
  }

  /**
   * Frees a slot, and the site lease admission took for its device once the device runs nothing else.
   * Never rejects: if the store cannot be reached the slot and the lease expire by themselves (ttlMs).
   */
  async endTest(id: string, owner?: { device: string; site: string }): Promise<void> {
    try {
      if (!this.db.isOpen) return;
      await this.db.transaction(async (tx) => {
        await tx.run('DELETE FROM running_tests WHERE id = ?', id);
        if (!owner) return;
        const left = (await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM running_tests WHERE device = ? AND expires_at > ?', owner.device, this.now()))!.n;
        if (left === 0) await tx.run('DELETE FROM site_leases WHERE site = ? AND device = ? AND lease_id LIKE ?', owner.site, owner.device, `${ADMISSION_LEASE}%`);
      });
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
      const held = await siteLease(tx, site);
      if (held && held.expires_at > t && held.device !== device) {
        return { granted: false, retryAfterMs: held.expires_at - t, heldBy: held.device };
      }
      const leaseId = randomUUID();
      await grantSiteLease(tx, site, leaseId, device, t, t + durationMs);
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
