// The registry's audit log (who changed what) and the change feed read from it: revocations and moves made
// by other connections to the same database (the CLI, other collector processes or machines) are emitted
// here, so open WebSockets act on them at once.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { periodic } from '../periodic.ts';
import type { SqlRunner, Store } from '../store/store.ts';

/**
 * How far behind the newest audit id the change feed keeps looking (ids of rows already announced are
 * remembered until they fall below it): PostgreSQL makes rows visible in commit order, not id order.
 */
const AUDIT_REORDER_WINDOW = 50;

/** The channel on which revocations and moves are announced to other collectors (PostgreSQL NOTIFY). */
export const DEVICE_CHANGES_CHANNEL = 'device_changes';

export interface AuditEntry {
  id: number;
  at: number;
  /** Who did it: `cli`, `admin-api <request id>`, `agent`. */
  actor: string;
  action: string;
  subject: string;
  detail?: Record<string, unknown>;
}

export interface RegistryEvents {
  /** A device was revoked (here or, seen through watchChanges, by another process). */
  revoked: [deviceId: string];
  /** A device now belongs to another site. */
  moved: [change: { deviceId: string; from: string; to: string }];
}

/** Appends one audit row; returns its id. */
export async function writeAudit(db: SqlRunner, at: number, actor: string, action: string, subject: string, detail?: Record<string, unknown>): Promise<number> {
  const row = await db.get<{ id: number }>('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?) RETURNING id',
    at, actor, action, subject, detail === undefined ? null : JSON.stringify(detail));
  return row!.id;
}

export async function readAuditLog(db: SqlRunner, filter: { subject?: string; limit?: number } = {}): Promise<AuditEntry[]> {
  const rows = await db.all<{ id: number; at: number; actor: string; action: string; subject: string; detail: string | null }>(
    'SELECT * FROM audit_log WHERE (CAST(@subject AS TEXT) IS NULL OR subject = @subject) ORDER BY id DESC LIMIT @limit',
    { subject: filter.subject ?? null, limit: Math.min(Math.max(1, filter.limit ?? 100), 10_000) },
  );
  return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, subject: r.subject, ...(r.detail ? { detail: JSON.parse(r.detail) as Record<string, unknown> } : {}) }));
}

async function newestAuditId(db: SqlRunner): Promise<number> {
  return (await db.get<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM audit_log'))!.id;
}

/** Revocations and moves, from this connection at once and from other connections by polling the audit log. */
export class ChangeFeed {
  readonly events = new EventEmitter<RegistryEvents>();
  // Audit rows this connection wrote and already announced; poll() skips them.
  private readonly announced = new Set<number>();

  private constructor(private watermark: number) {
    // Many WebSocket servers may listen; one listener each is expected, more is not a leak.
    this.events.setMaxListeners(100);
  }

  /** A feed that announces changes written after now. */
  static async from(db: SqlRunner): Promise<ChangeFeed> {
    return new ChangeFeed(await newestAuditId(db));
  }

  /** A change this connection made (its audit row `auditId`): emitted by the caller, never again by poll(). */
  announce(auditId: number): void {
    this.announced.add(auditId);
  }

  /**
   * Emits `revoked` and `moved` for changes made by other connections to the same database, by reading new
   * audit_log rows. It costs one indexed query.
   */
  async poll(db: SqlRunner): Promise<void> {
    // On PostgreSQL, ids are handed out at INSERT but become visible at COMMIT, possibly out of order: a
    // transaction that took id 41 may commit after one that took 42. Reading only up to the oldest id that
    // may still be in flight would need pg_snapshot; instead the watermark trails by a few ids and the
    // rows already announced are remembered.
    const rows = await db.all<{ id: number; action: string; subject: string; detail: string | null }>(
      `SELECT id, action, subject, detail FROM audit_log WHERE id > ? AND action IN ('device.revoke', 'device.move') ORDER BY id`,
      this.watermark,
    );
    const max = await newestAuditId(db);
    for (const row of rows) {
      if (this.announced.has(row.id)) continue;
      this.announced.add(row.id);
      if (row.action === 'device.revoke') this.events.emit('revoked', row.subject);
      else {
        const detail = JSON.parse(row.detail ?? '{}') as { from: string; to: string };
        this.events.emit('moved', { deviceId: row.subject, from: detail.from, to: detail.to });
      }
    }
    const watermark = Math.max(this.watermark, max - AUDIT_REORDER_WINDOW);
    for (const id of this.announced) if (id <= watermark) this.announced.delete(id);
    this.watermark = watermark;
  }

  /**
   * Polls every `intervalMs` (collector/periodic.ts: `registry.changes` in /healthz), and at once when
   * another collector announces a change (PostgreSQL NOTIFY), until the returned function is called.
   */
  watch(db: Store, intervalMs: number, logger?: Logger): () => Promise<void> {
    const timer = periodic('registry.changes', intervalMs, () => (db.isOpen ? this.poll(db) : undefined), logger ? { logger } : {});
    const unlisten = db.listen(DEVICE_CHANGES_CHANNEL, () => timer.trigger());
    return async () => {
      unlisten();
      await timer.stop();
    };
  }
}
