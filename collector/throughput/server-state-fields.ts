// Adds the test server's state during a throughput test to the result's stored point (docs/data-model.md,
// `server_*` fields of `throughput`). Only tests against this collector: M-Lab's servers are not ours.
import type { Point } from '@influxdata/influxdb-client';
import type { Result } from '../../protocol/results.ts';
import type { Annotate } from '../ingest/ingest.ts';
import type { TestServerState } from './server-state.ts';
import type { ServerStateStore } from './server-state-store.ts';

/** The key of a throughput result's test: its direction and measurement time. */
const keyOf = (direction: string, measuredAt: number) => `${direction}@${measuredAt}`;

/**
 * Looks up, before the batch is stored, the server state of every throughput test the batch reports
 * (the store is asynchronous; the annotation runs while the points are built). Raw results are read only
 * for the lookup key; ingest validates them.
 */
export async function annotateServerState(store: Pick<ServerStateStore, 'lookup'>, deviceId: string, raw: unknown[]): Promise<Annotate> {
  const states = new Map<string, TestServerState>();
  for (const r of raw) {
    const x = r as { probe?: unknown; target?: unknown; direction?: unknown; measuredAt?: unknown };
    if (x?.probe !== 'throughput' || x.target === 'mlab' || (x.direction !== 'download' && x.direction !== 'upload') || typeof x.measuredAt !== 'number') continue;
    const key = keyOf(x.direction, x.measuredAt);
    if (states.has(key)) continue;
    const s = await store.lookup(deviceId, x.direction, x.measuredAt);
    if (s) states.set(key, s);
  }
  return (result: Result, point: Point) => {
    if (result.probe !== 'throughput' || result.target === 'mlab') return;
    const s = states.get(keyOf(result.direction, result.measuredAt));
    if (!s) return;
    point
      .floatField('server_concurrent_tests', s.concurrentMax)
      .floatField('server_cpu_pct', s.cpuMeanPct)
      .floatField('server_cpu_max_pct', s.cpuMaxPct)
      .floatField('server_process_cpu_pct', s.processCpuMaxPct)
      .floatField('server_eld_p99_ms', s.eldP99Ms)
      .booleanField('server_limited', s.limited);
    if (s.limitedBy) point.stringField('server_limited_by', s.limitedBy);
  };
}
