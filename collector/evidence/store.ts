// The evidence feature's tables in the collector database: each device's signing key, the recorded daily
// chain heads, and per-device counters of refused and unsigned results (docs/evidence.md).
import { keyIdOf } from '../../protocol/evidence.ts';
import type { SqlRunner, Store } from '../store/store.ts';

export interface DeviceKey {
  deviceId: string;
  keyId: string;
  publicKey: string;
  registeredAt: number;
  /** 'enroll' (created at enrollment) or 'upgrade' (registered later by an already enrolled agent). */
  source: 'enroll' | 'upgrade';
}

export interface RecordedHead {
  site: string;
  date: string;
  head: string;
  prev: string;
  entries: number;
  recordedAt: number;
}

/** Why a device's results were flagged or refused. */
export type EvidenceCounterKind = 'unsigned' | 'invalid_signature' | 'unknown_key';

export class KeyConflictError extends Error {}

interface KeyRow { device_id: string; key_id: string; public_key: string; registered_at: number; source: 'enroll' | 'upgrade' }

export class EvidenceStore {
  private readonly keyCache = new Map<string, DeviceKey | null>();

  constructor(readonly store: Store) {}

  /**
   * Registers a device's public key, once: a device with a key cannot replace it (a stolen token must not
   * be able to swap the key; re-enrol instead). Writes an audit_log entry. Idempotent for the same key.
   */
  async registerKey(deviceId: string, publicKey: string, source: DeviceKey['source'], at: number, actor = 'agent'): Promise<DeviceKey> {
    const keyId = keyIdOf(publicKey);
    const key = await this.store.transaction(async (tx) => {
      const existing = await this.keyIn(tx, deviceId);
      if (existing) {
        if (existing.publicKey === publicKey) return existing;
        throw new KeyConflictError(`device ${deviceId} already has signing key ${existing.keyId}; a key is never replaced (enrol the device again)`);
      }
      await tx.run('INSERT INTO device_keys (device_id, key_id, public_key, registered_at, source) VALUES (?, ?, ?, ?, ?)', deviceId, keyId, publicKey, at, source);
      await tx.run('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)',
        at, actor, 'device.key', deviceId, JSON.stringify({ keyId, publicKey, source }));
      return { deviceId, keyId, publicKey, registeredAt: at, source };
    });
    this.keyCache.set(deviceId, key);
    return key;
  }

  private async keyIn(db: SqlRunner, deviceId: string): Promise<DeviceKey | undefined> {
    const row = await db.get<KeyRow>('SELECT * FROM device_keys WHERE device_id = ?', deviceId);
    return row && { deviceId: row.device_id, keyId: row.key_id, publicKey: row.public_key, registeredAt: row.registered_at, source: row.source };
  }

  /** A device's key (cached: a key never changes once registered; absence is re-read each time). */
  async getKey(deviceId: string, cached = true): Promise<DeviceKey | undefined> {
    const hit = cached ? this.keyCache.get(deviceId) : undefined;
    if (hit) return hit;
    const key = await this.keyIn(this.store, deviceId);
    if (key) this.keyCache.set(deviceId, key);
    return key;
  }

  async count(deviceId: string, kind: EvidenceCounterKind, n: number, at: number, reason?: string): Promise<void> {
    if (n <= 0) return;
    await this.store.run(
      `INSERT INTO evidence_counters (device_id, kind, count, last_at, last_reason) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device_id, kind) DO UPDATE SET count = evidence_counters.count + excluded.count, last_at = excluded.last_at,
         last_reason = COALESCE(excluded.last_reason, evidence_counters.last_reason)`,
      deviceId, kind, n, at, reason ?? null,
    );
  }

  async counters(deviceId: string): Promise<Partial<Record<EvidenceCounterKind, { count: number; lastAt: number; lastReason?: string }>>> {
    const rows = await this.store.all<{ kind: EvidenceCounterKind; count: number; last_at: number; last_reason: string | null }>(
      'SELECT kind, count, last_at, last_reason FROM evidence_counters WHERE device_id = ?', deviceId);
    return Object.fromEntries(rows.map((r) => [r.kind, { count: r.count, lastAt: r.last_at, ...(r.last_reason ? { lastReason: r.last_reason } : {}) }]));
  }

  async recordHead(h: Omit<RecordedHead, 'recordedAt'>, at: number): Promise<boolean> {
    return (await this.store.run('INSERT INTO evidence_heads (site_code, date, head, prev, entries, recorded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      h.site, h.date, h.head, h.prev, h.entries, at)).changes > 0;
  }

  async isRecorded(site: string, date: string): Promise<boolean> {
    return (await this.store.get('SELECT 1 AS one FROM evidence_heads WHERE site_code = ? AND date = ?', site, date)) !== undefined;
  }

  /** Recorded heads of a site from `from` to `to` (dates, inclusive), plus the last one before `from`. */
  async heads(site: string, from: string, to: string): Promise<RecordedHead[]> {
    const rows = await this.store.all<{ site_code: string; date: string; head: string; prev: string; entries: number; recorded_at: number }>(
      `SELECT * FROM (SELECT * FROM evidence_heads WHERE site_code = @site AND date < @from ORDER BY date DESC LIMIT 1) AS before_period
       UNION ALL SELECT * FROM (SELECT * FROM evidence_heads WHERE site_code = @site AND date >= @from AND date <= @to) AS in_period ORDER BY date`,
      { site, from, to },
    );
    return rows.map((r) => ({ site: r.site_code, date: r.date, head: r.head, prev: r.prev, entries: r.entries, recordedAt: r.recorded_at }));
  }
}
