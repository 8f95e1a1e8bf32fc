// The evidence feature's tables in the collector database: each device's signing key, the recorded daily
// chain heads, and per-device counters of refused and unsigned results (docs/evidence.md).
import { keyIdOf } from '../../protocol/evidence.ts';
import type { Store } from '../store/store.ts';

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

  private sql(source: string) {
    return this.store.sql(source);
  }

  /**
   * Registers a device's public key, once: a device with a key cannot replace it (a stolen token must not
   * be able to swap the key; re-enrol instead). Writes an audit_log entry. Idempotent for the same key.
   */
  registerKey(deviceId: string, publicKey: string, source: DeviceKey['source'], at: number, actor = 'agent'): DeviceKey {
    const keyId = keyIdOf(publicKey);
    const key = this.store.transaction(() => {
      const existing = this.getKey(deviceId, false);
      if (existing) {
        if (existing.publicKey === publicKey) return existing;
        throw new KeyConflictError(`device ${deviceId} already has signing key ${existing.keyId}; a key is never replaced (enrol the device again)`);
      }
      this.sql('INSERT INTO device_keys (device_id, key_id, public_key, registered_at, source) VALUES (?, ?, ?, ?, ?)').run(deviceId, keyId, publicKey, at, source);
      this.sql('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
        .run(at, actor, 'device.key', deviceId, JSON.stringify({ keyId, publicKey, source }));
      return { deviceId, keyId, publicKey, registeredAt: at, source };
    });
    this.keyCache.set(deviceId, key);
    return key;
  }

  /** A device's key (cached: a key never changes once registered; absence is re-read each time). */
  getKey(deviceId: string, cached = true): DeviceKey | undefined {
    const hit = cached ? this.keyCache.get(deviceId) : undefined;
    if (hit) return hit;
    const row = this.sql('SELECT * FROM device_keys WHERE device_id = ?').get(deviceId) as KeyRow | undefined;
    if (!row) return undefined;
    const key: DeviceKey = { deviceId: row.device_id, keyId: row.key_id, publicKey: row.public_key, registeredAt: row.registered_at, source: row.source };
    this.keyCache.set(deviceId, key);
    return key;
  }

  count(deviceId: string, kind: EvidenceCounterKind, n: number, at: number, reason?: string): void {
    if (n <= 0) return;
    this.sql(
      `INSERT INTO evidence_counters (device_id, kind, count, last_at, last_reason) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device_id, kind) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at, last_reason = COALESCE(excluded.last_reason, last_reason)`,
    ).run(deviceId, kind, n, at, reason ?? null);
  }

  counters(deviceId: string): Partial<Record<EvidenceCounterKind, { count: number; lastAt: number; lastReason?: string }>> {
    const rows = this.sql('SELECT kind, count, last_at, last_reason FROM evidence_counters WHERE device_id = ?').all(deviceId) as
      { kind: EvidenceCounterKind; count: number; last_at: number; last_reason: string | null }[];
    return Object.fromEntries(rows.map((r) => [r.kind, { count: r.count, lastAt: r.last_at, ...(r.last_reason ? { lastReason: r.last_reason } : {}) }]));
  }

  recordHead(h: Omit<RecordedHead, 'recordedAt'>, at: number): boolean {
    return this.sql('INSERT OR IGNORE INTO evidence_heads (site_code, date, head, prev, entries, recorded_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(h.site, h.date, h.head, h.prev, h.entries, at).changes > 0;
  }

  isRecorded(site: string, date: string): boolean {
    return this.sql('SELECT 1 FROM evidence_heads WHERE site_code = ? AND date = ?').get(site, date) !== undefined;
  }

  /** Recorded heads of a site from `from` to `to` (dates, inclusive), plus the last one before `from`. */
  heads(site: string, from: string, to: string): RecordedHead[] {
    const rows = this.sql(
      `SELECT * FROM (SELECT * FROM evidence_heads WHERE site_code = @site AND date < @from ORDER BY date DESC LIMIT 1)
       UNION ALL SELECT * FROM evidence_heads WHERE site_code = @site AND date >= @from AND date <= @to ORDER BY date`,
    ).all({ site, from, to }) as { site_code: string; date: string; head: string; prev: string; entries: number; recorded_at: number }[];
    return rows.map((r) => ({ site: r.site_code, date: r.date, head: r.head, prev: r.prev, entries: r.entries, recordedAt: r.recorded_at }));
  }
}
