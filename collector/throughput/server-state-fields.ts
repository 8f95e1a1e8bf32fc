// Adds the test server's state during a throughput test to the result's stored point (docs/data-model.md,
// `server_*` fields of `throughput`). Only tests against this collector: M-Lab's servers are not ours.
import type { Point } from '@influxdata/influxdb-client';
import type { Result } from '../../protocol/results.ts';
import type { Annotate } from '../ingest/ingest.ts';
import type { ServerStateStore } from './server-state-store.ts';

export function annotateServerState(store: Pick<ServerStateStore, 'lookup'>, deviceId: string): Annotate {
  return (result: Result, point: Point) => {
    if (result.probe !== 'throughput' || result.target === 'mlab') return;
    const s = store.lookup(deviceId, result.direction, result.measuredAt);
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
