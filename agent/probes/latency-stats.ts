import type { LatencyFields } from '../../protocol/results.ts';

/** One attempt's round-trip time in ms, or null when no answer came back. */
export type Attempt = number | null;

/** Rounds to 3 decimals (microsecond resolution is more than any probe here can honestly claim). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Summarises attempts, in the order they were made, into the protocol's latency fields.
 *
 * - loss_pct = (sent - received) / sent * 100. With nothing sent (a run stopped before its first attempt),
 *   no answer was obtained either, so it reads 100 rather than a reassuring 0.
 * - rtt_p95_ms uses the NEAREST-RANK method: the value at rank ceil(0.95 * n) of the sorted RTTs (1-based).
 *   It always returns an observed RTT (with 5 attempts it is the maximum, the conservative reading for a
 *   "p95 <= 150 ms" target) and matches InfluxQL's PERCENTILE(), which the dashboards use over many results.
 * - rtt_median_ms is the middle value, or the mean of the two middle values when n is even.
 * - jitter_ms = sum(|R[i] - R[i-1]|, i = 2..k) / (k - 1) over the k successful RTTs in attempt order
 *   (lost attempts skipped): RFC 3550's instantaneous difference |D(i-1,i)|, averaged plainly instead of
 *   RFC 3550's 1/16 exponential smoothing, so one run's figure does not depend on a long history.
 *   It needs two answers; with fewer it is omitted.
 * - With 0 received every rtt_* field is omitted: there is nothing to summarise.
 */
export function latencyStats(attempts: readonly Attempt[]): LatencyFields {
  const sent = attempts.length;
  const ok = attempts.filter((a): a is number => a !== null);
  const received = ok.length;
  const fields: LatencyFields = {
    sent,
    received,
    loss_pct: sent === 0 ? 100 : round3(((sent - received) / sent) * 100),
  };
  if (received === 0) return fields;

  const sorted = [...ok].sort((a, b) => a - b);
  const at = (i: number): number => sorted[i] as number;
  const mid = Math.floor(received / 2);
  const median = received % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
  const mean = ok.reduce((s, x) => s + x, 0) / received;

  fields.rtt_min_ms = round3(at(0));
  fields.rtt_median_ms = round3(median);
  fields.rtt_mean_ms = round3(mean);
  fields.rtt_p95_ms = round3(at(Math.ceil(0.95 * received) - 1));
  fields.rtt_max_ms = round3(at(received - 1));
  if (received >= 2) {
    let sum = 0;
    for (let i = 1; i < received; i++) sum += Math.abs((ok[i] as number) - (ok[i - 1] as number));
    fields.jitter_ms = round3(sum / (received - 1));
  }
  return fields;
}
