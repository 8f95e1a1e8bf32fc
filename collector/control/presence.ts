// The `presence` measurement (docs/data-model.md): one point per enrolled device per minute, written by
// whichever collector process holds the sweep lease, plus one point when a device connects or
// disconnects, written by the process holding its socket. Minute points are stamped at the minute's
// start, so a sweep repeated by a new lease holder overwrites rather than duplicates.
import { Point } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { normalizeTagValue } from '../influx/points.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Registry } from '../registry/registry.ts';
import type { Site } from '../registry/site.ts';
import type { ControlStore } from './store.ts';

export interface PresenceFields {
  connected: boolean;
  lastSeenAt?: number;
  clockOffsetMs?: number;
  agentVersion?: string;
  revoked: boolean;
}

/** Points per InfluxDB write; the event loop gets a turn between chunks so heartbeats are not held up. */
const WRITE_CHUNK = 1000;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export function presencePoint(deviceId: string, site: Pick<Site, 'code' | 'commune' | 'operator' | 'linkType'>, fields: PresenceFields, at: number, now: number): Point {
  const point = new Point('presence');
  const tags: [string, string | undefined][] = [['site', site.code], ['device', deviceId], ['commune', site.commune], ['operator', site.operator], ['link_type', site.linkType]];
  for (const [name, value] of tags) {
    const clean = normalizeTagValue(value);
    if (clean !== undefined) point.tag(name, clean);
  }
  point.booleanField('connected', fields.connected);
  if (fields.lastSeenAt !== undefined) point.floatField('last_seen_age_s', Math.max(0, (now - fields.lastSeenAt) / 1000));
  if (fields.clockOffsetMs !== undefined) point.floatField('clock_offset_ms', fields.clockOffsetMs);
  if (fields.agentVersion !== undefined) point.stringField('agent_version', fields.agentVersion);
  point.booleanField('revoked', fields.revoked);
  point.timestamp(new Date(at));
  return point;
}

export async function writeChunked(writer: InfluxWriter, points: Point[]): Promise<void> {
  for (let i = 0; i < points.length; i += WRITE_CHUNK) {
    await writer.write(points.slice(i, i + WRITE_CHUNK));
    await yieldToLoop();
  }
}

/**
 * One sweep: a point per enrolled device, stamped at the start of the current minute. `local` holds the
 * newest heartbeat times this process has not flushed yet, so its own devices are exact.
 */
export async function sweepPresence(deps: { registry: Registry; store: ControlStore; writer: InfluxWriter; logger: Logger; now: number; local: Map<string, number> }): Promise<number> {
  const sites = new Map((await deps.registry.listSites()).map((s) => [s.code, s]));
  const minute = Math.floor(deps.now / 60_000) * 60_000;
  const points: Point[] = [];
  const rows = await deps.store.presence();
  for (const [i, row] of rows.entries()) {
    if (i % WRITE_CHUNK === WRITE_CHUNK - 1) await yieldToLoop();
    const site = sites.get(row.siteCode);
    if (!site) continue;
    // A row whose process stopped renewing its holder lease (it died) is not a connection.
    const connected = row.connected && !row.revoked && row.holderUntil > deps.now;
    const lastSeenAt = Math.max(row.lastSeenAt ?? 0, deps.local.get(row.deviceId) ?? 0) || undefined;
    points.push(presencePoint(row.deviceId, site, { connected, lastSeenAt, clockOffsetMs: row.clockOffsetMs, agentVersion: row.agentVersion, revoked: row.revoked }, minute, deps.now));
  }
  await writeChunked(deps.writer, points);
  return points.length;
}
