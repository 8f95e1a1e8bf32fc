// `left_out` on every stored throughput point: whether the test is left out of the operator's figures because
// something other than the operator's network may have held it down (docs/data-model.md, docs/throughput.md).
// The flags are written only when true, and InfluxQL cannot select a point for a field it lacks ("!= true" skips
// it too); so the collector writes the judgement as a field that is always there, true or false, for queries
// (the Grafana alert rule) that must pick the points that were NOT flagged.
import type { Point } from '@influxdata/influxdb-client';
import type { Result } from '../../protocol/results.ts';

/** Why a throughput test is left out: the school's traffic, the school's own network, the test server. */
export const LEFT_OUT_FLAGS = ['cross_traffic', 'lan_bottleneck', 'server_limited'] as const;

/**
 * Adds `left_out` to a throughput result's point, from the fields the point will store (the agent's flags and
 * the `server_limited` ingest adds), so it runs after every other annotation.
 */
export function markLeftOut(result: Result, point: Point): void {
  if (result.probe !== 'throughput') return;
  // The client keeps each field in its line-protocol form: a boolean is `T` or `F`.
  point.booleanField('left_out', LEFT_OUT_FLAGS.some((flag) => point.fields[flag] === 'T'));
}
