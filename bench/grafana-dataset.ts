// The Grafana bench's province: registry rows and 30 days of results converted by the collector's own
// resultToPoint. Its own file because its text is part of the cached dataset's recipe (bench/dataset-cache.ts).
import { randomUUID } from 'node:crypto';
import { type DeviceIdentity, resultToPoint } from '../collector/influx/points.ts';
import type { createInfluxWriter } from '../collector/influx/writer.ts';
import type { Result } from '../protocol/results.ts';

const OPERATORS = ['viettel', 'vnpt', 'mobifone'];

/** The bench province's registry: communes, operators, coordinates and one group label per site. */
export function provinceSites(sites: number) {
  return Array.from({ length: sites }, (_, i) => ({
    code: `LC-${String(i + 1).padStart(5, '0')}`,
    name: `Điểm trường ${i + 1}`,
    commune: `Xã ${(i % 150) + 1}`,
    operator: OPERATORS[i % 3]!,
    linkType: '4g' as const,
    latitude: 21.8 + (i % 50) / 50,
    longitude: 103.5 + Math.floor(i / 50) / 40,
    groups: [`Huyện cũ ${(i % 9) + 1}`],
    createdAt: 0,
    updatedAt: 0,
  }));
}

/** Results converted by the collector's own resultToPoint, written through its writer in batches. */
export async function writeRaw(writer: ReturnType<typeof createInfluxWriter>, registry: ReturnType<typeof provinceSites>, start: number, now: number, latencyEvery: number, uptimeEvery: number): Promise<number> {
  let rawPoints = 0;
  let batch: ReturnType<typeof resultToPoint>[] = [];
  const flush = async () => {
    if (batch.length) await writer.write(batch);
    rawPoints += batch.length;
    batch = [];
  };
  for (const [i, s] of registry.entries()) {
    const identity: DeviceIdentity = { deviceId: `dev_${String(i).padStart(32, '0')}`, site: { code: s.code, commune: s.commune, operator: s.operator, linkType: s.linkType } };
    const q = (i % 10) / 10;
    const push = (r: Omit<Result, 'id'>) => batch.push(resultToPoint({ ...r, id: randomUUID() } as Result, identity));
    for (let t = start + (i % 60) * 1000; t < now; t += latencyEvery) {
      push({ probe: 'tcp', target: 'collector:443', measuredAt: t, code: 'ok', fields: { sent: 10, received: 10 - (i % 3), loss_pct: (i % 3) * 10, rtt_median_ms: 40 + q * 100, rtt_p95_ms: 80 + q * 100, jitter_ms: 5 } } as Omit<Result, 'id'>);
    }
    for (let t = start + 9 * 3_600_000; t < now; t += 12 * 3_600_000) {
      for (const direction of ['download', 'upload'] as const) {
        push({ probe: 'throughput', method: 'http_multistream', direction, target: 'collector', measuredAt: t + (direction === 'upload' ? 1000 : 0), code: 'ok', fields: { mbps: 3 + q * 30, bytes: 1e7, budget_bytes: 2e7, duration_ms: 8000, warmup_ms: 1000, streams: 4, server: 'c', stopped_early: true, stop_reason: 'stable', byte_cap: 5e7, loaded_rtt_median_ms: 120 } } as Omit<Result, 'id'>);
      }
    }
    for (let t = Math.ceil(start / uptimeEvery) * uptimeEvery; t < now; t += uptimeEvery) {
      push({ probe: 'uptime', target: 'link', measuredAt: t, code: 'ok', fields: { checks: 15, checks_up: 15, checks_collector_down: 0, checks_dns_down: 0, checks_link_down: 0, observed_s: 900, up_s: 900 - (i % 4) * 100 } } as Omit<Result, 'id'>);
    }
    if (batch.length >= 10_000) await flush();
  }
  await flush();
  return rawPoints;
}

