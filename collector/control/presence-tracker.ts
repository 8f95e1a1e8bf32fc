// Presence as this process sees it: connects and disconnects, clock offsets and last-seen times queued and
// written to the store in a flush, presence points to InfluxDB, and the per-minute sweep over every
// enrolled device (run by one process: the timer's lease, hub.ts). The rows say which process holds each
// socket (`holder`); a holder that stops renewing its lease (it died) has no connections in the sweep.
import type { Point } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Registry } from '../registry/registry.ts';
import type { Conn } from './connection.ts';
import { presencePoint, sweepPresence, writeChunked } from './presence.ts';
import { type ControlStore, type PresenceWrite, upsertPresence } from './store.ts';

/** Devices per store transaction in a flush. */
const FLUSH_CHUNK = 500;

export class PresenceTracker {
  /** Presence rows to write at the next flush: connects and disconnects. */
  private changes: PresenceWrite[] = [];
  private points: Point[] = [];
  private readonly holderTtlMs: number;

  constructor(
    private readonly deps: { registry: Registry; store: ControlStore; writer: InfluxWriter; logger: Logger; now: () => number; holder: string; conns: ReadonlyMap<string, Conn> },
    private readonly opts: { flushMs: number; heartbeatSeconds: number },
  ) {
    this.holderTtlMs = Math.max(90_000, opts.flushMs * 4);
    // This process's devices count as connected while this lease is renewed (every flush).
    void deps.store.tryLease(`holder:${deps.holder}`, deps.holder, this.holderTtlMs).catch((err: unknown) => deps.logger.error({ err }, 'control: could not take the holder lease'));
  }

  /** The agent said hello (connected) or its socket closed (disconnected): a row at the next flush, a point at once. */
  changed(conn: Conn, connected: boolean): void {
    const at = this.deps.now();
    this.changes.push({ deviceId: conn.deviceId, holder: this.deps.holder, connected, changedAt: at, ...(connected ? { agentVersion: conn.agentVersion } : {}) });
    this.points.push(presencePoint(conn.deviceId, conn.site, { connected, lastSeenAt: conn.lastSeen, clockOffsetMs: conn.offsetMs, agentVersion: conn.agentVersion, revoked: false }, at, at));
  }

  /**
   * Writes connects, disconnects, changed offsets and last-seen times to the store, in transactions of
   * FLUSH_CHUNK devices with a turn of the event loop between them (10 000 devices in one transaction
   * would hold heartbeats up for most of a second), then queued presence points to InfluxDB.
   */
  async flush(): Promise<void> {
    const { registry, store, holder, conns } = this.deps;
    const at = this.deps.now();
    // This process is alive: its devices' rows count as connected in the sweep until this lapses.
    await store.tryLease(`holder:${holder}`, holder, this.holderTtlMs);
    const rows: PresenceWrite[] = this.changes;
    this.changes = [];
    const dirty: Conn[] = [];
    for (const conn of conns.values()) {
      if (!conn.helloed) continue;
      if (conn.offsetMs !== undefined && conn.offsetMs !== conn.storedOffsetMs) {
        rows.push({ deviceId: conn.deviceId, holder, connected: true, clockOffsetMs: conn.offsetMs });
        conn.storedOffsetMs = conn.offsetMs;
      }
      if (conn.dirty) dirty.push(conn);
      conn.dirty = false;
    }
    for (let i = 0; i < Math.max(rows.length, dirty.length); i += FLUSH_CHUNK) {
      await registry.transaction(async (tx) => {
        for (const row of rows.slice(i, i + FLUSH_CHUNK)) await upsertPresence(tx.store, row, at);
        // touchDevice writes a device at most once a minute; the rest cost a map lookup.
        for (const conn of dirty.slice(i, i + FLUSH_CHUNK)) await tx.touchDevice(conn.deviceId, conn.lastSeen, conn.agentVersion);
      });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Sockets that stopped talking (a peer gone without a FIN) are cut after three missed heartbeats.
    for (const conn of conns.values()) if (at - conn.lastSeen > this.opts.heartbeatSeconds * 3000) conn.ws.terminate();
    await this.flushPoints();
  }

  async flushPoints(): Promise<void> {
    const batch = this.points;
    this.points = [];
    if (batch.length === 0) return;
    try {
      await writeChunked(this.deps.writer, batch);
    } catch (err) {
      // Presence is a sample, not a delivery: the next sweep writes the state again.
      this.deps.logger.warn({ err: (err as Error).message, points: batch.length }, 'could not write presence points');
    }
  }

  /** One point per enrolled device (the caller holds the sweep lease); this process's heartbeats are exact. */
  async sweep(): Promise<void> {
    const { registry, store, writer, logger, conns } = this.deps;
    const local = new Map([...conns.values()].map((c) => [c.deviceId, c.lastSeen]));
    const n = await sweepPresence({ registry, store, writer, logger, now: this.deps.now(), local });
    logger.debug({ points: n }, 'presence sweep written');
  }

  /** At shutdown, after the last flush: this process's rows are disconnected and its holder lease given up. */
  async release(): Promise<void> {
    await this.deps.store.releaseHolder(this.deps.holder);
    await this.deps.store.tryLease(`holder:${this.deps.holder}`, this.deps.holder, 0);
  }
}
