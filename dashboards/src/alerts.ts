// Grafana alerting, file-provisioned: the collector's own alert rules (issue 8) expressed as Grafana rules,
// for teams who prefer to alert from Grafana. Same rules, same defaults; Grafana adds the hysteresis with a
// recovery threshold, the grouping with its notification policy (by rule and commune) and the school-hours
// quiet time with a mute timing. The thresholds live in ALERT_DEFAULTS; keep them equal to the collector's.
import { confirmedFailuresInfluxQL } from '../../collector/alerts/rules/confirmed-failure.ts';
import { DATASOURCE } from './builder.ts';
import { UID } from './common.ts';

/** Defaults shared with the collector's alert engine (docs/grafana.md#alerts lists the mapping). */
export const ALERT_DEFAULTS = {
  silentAfterMinutes: 30,
  /** Degraded throughput: M confirmed failures among the last N download outcomes (collector/alerts/rules/confirmed-failure.ts). */
  throughputFloorMbps: 5,
  degradedM: 3,
  degradedN: 5,
  /** Latency over threshold for T minutes; clears below the lower figure. */
  latencyRaiseMs: 150,
  latencyClearMs: 100,
  lossRaisePct: 5,
  lossClearPct: 1,
  overMinutes: 15,
  /** Queue backlog: the oldest result waiting for delivery is older than this (seconds). */
  queueOldestUnsentS: 6 * 3600,
  clockOffsetMs: 120_000,
  /** School hours, local time (Asia/Ho_Chi_Minh): the default school calendar's Monday to Friday day. */
  schoolHours: { start: '07:00', end: '17:00', weekdays: ['monday:friday'] },
} as const;

const D = ALERT_DEFAULTS;

export interface AlertRuleSpec {
  uid: string;
  title: string;
  /** Same id as the collector's rule. */
  rule: 'site_silent' | 'link_down' | 'degraded_throughput' | 'latency_over' | 'loss_over' | 'queue_backlog' | 'clock_offset' | 'budget_exhausted' | 'agent_outdated' | 'device_flagged';
  query: string;
  /** Seconds of history the query may look at (relativeTimeRange). */
  lookbackS: number;
  evaluator: { type: 'gt' | 'lt'; value: number };
  /** Clear threshold (hysteresis); absent = clears when the raise condition stops holding. */
  recover?: { type: 'gt' | 'lt'; value: number };
  for: string;
  severity: 'critical' | 'warning';
  /** Quiet outside school hours. */
  schoolHoursOnly: boolean;
  summary: string;
  description: string;
}

const SITE_TAGS = '"site", "commune", "operator"';

export const ALERT_RULES: AlertRuleSpec[] = [
  {
    uid: 'songcheck-site-silent',
    title: 'Điểm trường mất liên lạc (site silent)',
    rule: 'site_silent',
    query: `SELECT min("age") AS "silent_s" FROM (SELECT last("last_seen_age_s") AS "age" FROM "presence" WHERE "revoked" = false AND time > now() - 15m GROUP BY ${SITE_TAGS}, "device") GROUP BY ${SITE_TAGS}`,
    lookbackS: 900,
    evaluator: { type: 'gt', value: D.silentAfterMinutes * 60 },
    for: '0m',
    severity: 'critical',
    schoolHoursOnly: true,
    summary: 'Điểm trường {{ $labels.site }} không gửi dữ liệu',
    description: `No heartbeat and no result from any active device of {{ $labels.site }} for more than ${D.silentAfterMinutes} minutes.`,
  },
  {
    uid: 'songcheck-link-down',
    title: 'Mất kết nối Internet (link down)',
    rule: 'link_down',
    query: `SELECT count("duration_s") AS "outages" FROM "outage" WHERE "kind" = 'link_down' AND time > now() - 1h GROUP BY ${SITE_TAGS}`,
    lookbackS: 3600,
    evaluator: { type: 'gt', value: 0 },
    for: '0m',
    severity: 'critical',
    schoolHoursOnly: true,
    summary: 'Điểm trường {{ $labels.site }} mất kết nối',
    description: 'The agent at {{ $labels.site }} reported a link_down outage in the last hour.',
  },
  {
    uid: 'songcheck-degraded-throughput',
    title: 'Tốc độ suy giảm (degraded throughput)',
    rule: 'degraded_throughput',
    // The collector's definition of a confirmed failure and of the window (collector/alerts/rules/confirmed-failure.ts).
    query: confirmedFailuresInfluxQL({ floorMbps: D.throughputFloorMbps, lastN: D.degradedN, timeRange: 'time > now() - 7d', groupBy: SITE_TAGS }),
    lookbackS: 7 * 86_400,
    evaluator: { type: 'gt', value: D.degradedM - 1 },
    recover: { type: 'lt', value: D.degradedM - 1 },
    for: '0m',
    severity: 'warning',
    schoolHoursOnly: true,
    summary: 'Tốc độ tại {{ $labels.site }} dưới mức tối thiểu',
    description: `${D.degradedM} of the last ${D.degradedN} download tests at {{ $labels.site }} were under ${D.throughputFloorMbps} Mbit/s, each confirmed by a second test within the hour.`,
  },
  {
    uid: 'songcheck-latency-over',
    title: 'Độ trễ cao (latency over threshold)',
    rule: 'latency_over',
    query: `SELECT median("rtt_median_ms") AS "rtt_median_ms" FROM "latency" WHERE "method" = 'tcp_connect' AND time > now() - ${D.overMinutes}m GROUP BY ${SITE_TAGS}`,
    lookbackS: D.overMinutes * 60,
    evaluator: { type: 'gt', value: D.latencyRaiseMs },
    recover: { type: 'lt', value: D.latencyClearMs },
    for: `${D.overMinutes}m`,
    severity: 'warning',
    schoolHoursOnly: true,
    summary: 'Độ trễ tại {{ $labels.site }} cao',
    description: `Median TCP latency at {{ $labels.site }} above ${D.latencyRaiseMs} ms for ${D.overMinutes} minutes (clears below ${D.latencyClearMs} ms).`,
  },
  {
    uid: 'songcheck-loss-over',
    title: 'Mất gói cao (loss over threshold)',
    rule: 'loss_over',
    query: `SELECT (sum("sent") - sum("received")) / sum("sent") * 100 AS "loss_pct" FROM "latency" WHERE "method" = 'tcp_connect' AND time > now() - ${D.overMinutes}m GROUP BY ${SITE_TAGS}`,
    lookbackS: D.overMinutes * 60,
    evaluator: { type: 'gt', value: D.lossRaisePct },
    recover: { type: 'lt', value: D.lossClearPct },
    for: `${D.overMinutes}m`,
    severity: 'warning',
    schoolHoursOnly: true,
    summary: 'Mất gói tại {{ $labels.site }} cao',
    description: `TCP loss at {{ $labels.site }} above ${D.lossRaisePct} % for ${D.overMinutes} minutes (clears below ${D.lossClearPct} %).`,
  },
  {
    uid: 'songcheck-queue-backlog',
    title: 'Hàng đợi tồn đọng (queue backlog)',
    rule: 'queue_backlog',
    query: `SELECT last("oldest_unsent_age_s") AS "oldest_unsent_age_s" FROM "agent_health" WHERE time > now() - 1h GROUP BY ${SITE_TAGS}, "device"`,
    lookbackS: 3600,
    evaluator: { type: 'gt', value: D.queueOldestUnsentS },
    for: '0m',
    severity: 'warning',
    schoolHoursOnly: false,
    summary: 'Thiết bị {{ $labels.device }} tại {{ $labels.site }} tồn đọng dữ liệu',
    description: `The oldest result waiting in the agent's queue at {{ $labels.site }} is more than ${D.queueOldestUnsentS / 3600} hours old.`,
  },
  {
    uid: 'songcheck-clock-offset',
    title: 'Đồng hồ thiết bị lệch (clock offset)',
    rule: 'clock_offset',
    query: `SELECT last("offset") AS "clock_offset_abs_ms" FROM (SELECT abs("clock_offset_ms") AS "offset" FROM "agent_health" WHERE time > now() - 1h GROUP BY ${SITE_TAGS}, "device") GROUP BY ${SITE_TAGS}, "device"`,
    lookbackS: 3600,
    evaluator: { type: 'gt', value: D.clockOffsetMs },
    for: '0m',
    severity: 'warning',
    schoolHoursOnly: false,
    summary: 'Đồng hồ thiết bị tại {{ $labels.site }} lệch',
    description: `The device clock at {{ $labels.site }} is more than ${D.clockOffsetMs / 1000} s off the collector's.`,
  },
  {
    uid: 'songcheck-budget-exhausted',
    title: 'Hết hạn mức dữ liệu (data budget exhausted)',
    rule: 'budget_exhausted',
    query: `SELECT last("budget_left_bytes") AS "budget_left_bytes" FROM "throughput" WHERE time > now() - 2d GROUP BY ${SITE_TAGS}`,
    lookbackS: 2 * 86_400,
    evaluator: { type: 'lt', value: 1 },
    for: '0m',
    severity: 'warning',
    schoolHoursOnly: false,
    summary: 'Hạn mức dữ liệu của {{ $labels.site }} đã hết',
    description: "The month's throughput test budget at {{ $labels.site }} is used up: no more speed tests this month.",
  },
  {
    uid: 'songcheck-agent-outdated',
    title: 'Phiên bản agent cũ (agent version too old)',
    rule: 'agent_outdated',
    query: `SELECT count("behind") AS "outdated_devices" FROM (SELECT last("behind_recommended") AS "behind" FROM "agent_health" WHERE time > now() - 1d GROUP BY ${SITE_TAGS}, "device") WHERE "behind" = true GROUP BY ${SITE_TAGS}`,
    lookbackS: 86_400,
    evaluator: { type: 'gt', value: 0 },
    for: '0m',
    severity: 'warning',
    schoolHoursOnly: false,
    summary: 'Agent tại {{ $labels.site }} cần cập nhật',
    description: 'An agent at {{ $labels.site }} runs a version older than the one the collector recommends.',
  },
  {
    // Grafana only: the collector flags the device itself at ingest (collector/guards/device-flags.ts) and
    // lists it in /healthz and `devices flagged`; this rule tells someone. Points come at most once a minute
    // per device while it keeps being refused, so the alert clears an hour after the refusals stop.
    uid: 'songcheck-device-flagged',
    title: 'Thiết bị bị gắn cờ (device flagged by a guard)',
    rule: 'device_flagged',
    query: `SELECT last("count") AS "refused_results" FROM "device_flag" WHERE time > now() - 1h GROUP BY ${SITE_TAGS}, "device", "flag"`,
    lookbackS: 3600,
    evaluator: { type: 'gt', value: 0 },
    for: '0m',
    severity: 'warning',
    schoolHoursOnly: false,
    summary: 'Thiết bị {{ $labels.device }} tại {{ $labels.site }} bị gắn cờ {{ $labels.flag }}',
    description: 'A guard refused results from device {{ $labels.device }} at {{ $labels.site }} ({{ $labels.flag }}: more distinct targets of one probe than the series budget allows). A broken or hostile agent: check it, revoke it (songcheck-collector devices revoke) or clear the flag (devices unflag).',
  },
];

const FOLDER = 'songcheck';
export const CONTACT_POINT = 'songcheck-webhook';
export const MUTE_OUTSIDE_SCHOOL = 'ngoai-gio-hoc';

function ruleToProvisioning(r: AlertRuleSpec): Record<string, unknown> {
  const evaluator = (e: { type: string; value: number }) => ({ type: e.type, params: [e.value] });
  return {
    uid: r.uid,
    title: r.title,
    condition: 'C',
    data: [
      {
        refId: 'A',
        relativeTimeRange: { from: r.lookbackS, to: 0 },
        datasourceUid: DATASOURCE.uid,
        model: { refId: 'A', datasource: DATASOURCE, rawQuery: true, query: r.query, resultFormat: 'time_series', intervalMs: 60_000, maxDataPoints: 43_200 },
      },
      { refId: 'B', datasourceUid: '__expr__', model: { refId: 'B', type: 'reduce', expression: 'A', reducer: 'last', settings: { mode: 'dropNN' } } },
      {
        refId: 'C',
        datasourceUid: '__expr__',
        model: {
          refId: 'C',
          type: 'threshold',
          expression: 'B',
          conditions: [{ evaluator: evaluator(r.evaluator), ...(r.recover ? { unloadEvaluator: evaluator(r.recover) } : {}) }],
        },
      },
    ],
    noDataState: 'OK',
    execErrState: 'Error',
    for: r.for,
    annotations: { summary: r.summary, description: r.description, dashboardUId: UID.site, runbook_url: `/d/${UID.site}?var-site={{ $labels.site }}` },
    labels: { songcheck_rule: r.rule, severity: r.severity, school_hours_only: String(r.schoolHoursOnly) },
    isPaused: false,
  };
}

/** The whole provisioning file for Grafana's alerting (apiVersion 1). */
export function alertingProvisioning(): Record<string, unknown> {
  return {
    apiVersion: 1,
    groups: [{ orgId: 1, name: 'songcheck', folder: FOLDER, interval: '1m', rules: ALERT_RULES.map(ruleToProvisioning) }],
    contactPoints: [
      {
        orgId: 1,
        name: CONTACT_POINT,
        receivers: [
          {
            uid: 'songcheck-webhook',
            type: 'webhook',
            disableResolveMessage: false,
            // Grafana expands environment variables in contact point settings (docker-compose passes them). It does not
            // expand annotations, so the `{{ $labels.site }}` templates below stay as written.
            settings: { url: '${GRAFANA_ALERT_WEBHOOK_URL}', httpMethod: 'POST' },
          },
        ],
      },
    ],
    policies: [
      {
        orgId: 1,
        receiver: CONTACT_POINT,
        // Twelve sites down in one commune is one message (likely one tower), as in the collector's grouping.
        group_by: ['alertname', 'commune'],
        group_wait: '1m',
        group_interval: '5m',
        repeat_interval: '4h',
        routes: [
          { receiver: CONTACT_POINT, object_matchers: [['school_hours_only', '=', 'true']], mute_time_intervals: [MUTE_OUTSIDE_SCHOOL] },
          { receiver: CONTACT_POINT, object_matchers: [['school_hours_only', '=', 'false']] },
        ],
      },
    ],
    muteTimes: [
      {
        orgId: 1,
        name: MUTE_OUTSIDE_SCHOOL,
        // Quiet outside school hours: evenings, nights and Sundays, local time.
        time_intervals: [
          { times: [{ start_time: '00:00', end_time: D.schoolHours.start }, { start_time: D.schoolHours.end, end_time: '24:00' }], weekdays: [...D.schoolHours.weekdays], location: 'Asia/Ho_Chi_Minh' },
          { weekdays: ['saturday', 'sunday'], location: 'Asia/Ho_Chi_Minh' },
        ],
      },
    ],
  };
}
