// The one definition of "confirmed degraded" that both degraded-throughput rules follow: the collector's own
// (degraded-throughput.ts, in TypeScript over the rows) and Grafana's (dashboards/src/alerts.ts, in InfluxQL,
// built here). docs/alerts.md "Degraded throughput".
//
// A CONFIRMED FAILURE is a confirmation test (the agent's second download within the hour after one under the
// floor: `confirmation_of` set) that read under the floor, whose first test read under the floor too
// (`confirmation_of_mbps`, carried on the confirmation so the pair is judged from one point: InfluxQL has no
// join), and that is not left out (`left_out = false`: no cross traffic, no school-network bottleneck, no
// limited test server; written by the collector at ingest on every throughput point).
//
// The window is the site's last N OUTCOMES: download tests (`code ok`) at or above the floor, and
// confirmations. A test under the floor is not an outcome itself: its confirmation stands for it (a
// confirmation that came back good is a good outcome). A test under the floor without a confirmation (not run
// yet, or never: budget, restart) is no evidence either way. Flags never enter the window: cross traffic, the
// school's Wi-Fi or a busy server only ever push a rate down, so a flagged test at or above the floor still
// shows the line reaching it; a flagged confirmation under the floor is an outcome that counts as no failure.
//
// Every condition is a positive one on purpose: InfluxQL drops a point whose field is missing from any
// comparison, `!=` included, so "not flagged" is `left_out = false`, never `cross_traffic != true`.
import { num } from './query-rows.ts';

/** A row of `throughput` with (at least) the DOWNLOAD_FIELDS columns. */
export type DownloadRow = Readonly<Record<string, unknown>>;

const isConfirmation = (r: DownloadRow) => typeof r.confirmation_of === 'string' && r.confirmation_of !== '';

/** An outcome of the window (see above), for a row with a rate. */
export function isOutcome(r: DownloadRow, floor: number): boolean {
  const mbps = num(r.mbps);
  return mbps !== undefined && (mbps >= floor || isConfirmation(r));
}

/** A confirmed failure (see above). Missing fields never count, as in InfluxQL. */
export function isConfirmedFailure(r: DownloadRow, floor: number): boolean {
  const mbps = num(r.mbps);
  const first = num(r.confirmation_of_mbps);
  return isConfirmation(r) && mbps !== undefined && mbps < floor && first !== undefined && first < floor && r.left_out === false;
}

/** The last `lastN` outcomes (rows newest first) and how many of them are confirmed failures. */
export function confirmedFailures<R extends DownloadRow>(rowsNewestFirst: R[], floor: number, lastN: number): { window: R[]; failures: number } {
  const window = rowsNewestFirst.filter((r) => isOutcome(r, floor)).slice(0, lastN);
  return { window, failures: window.filter((r) => isConfirmedFailure(r, floor)).length };
}

/** The fields a query must return for the functions above. */
export const DOWNLOAD_FIELDS = ['mbps', 'confirmation_of', 'confirmation_of_mbps', 'left_out'] as const;

/**
 * The same definition in InfluxQL, for one fixed floor: per group of `groupBy` tags, the number of confirmed
 * failures among the last `lastN` outcomes, as `confirmed_failures`. No row for a group with none (count() of
 * nothing is no row). `timeRange` is an InfluxQL time condition, e.g. `time > now() - 7d`.
 */
export function confirmedFailuresInfluxQL(o: { floorMbps: number; lastN: number; timeRange: string; groupBy: string }): string {
  const f = o.floorMbps;
  const window = `SELECT "mbps", "confirmation_of_mbps", "left_out" FROM "throughput" WHERE "direction" = 'download' AND "code" = 'ok' AND ("mbps" >= ${f} OR "confirmation_of" =~ /./) AND ${o.timeRange} GROUP BY ${o.groupBy} ORDER BY time DESC LIMIT ${o.lastN}`;
  return `SELECT count("mbps") AS "confirmed_failures" FROM (${window}) WHERE "mbps" < ${f} AND "confirmation_of_mbps" < ${f} AND "left_out" = false GROUP BY ${o.groupBy} ORDER BY time DESC`;
}
