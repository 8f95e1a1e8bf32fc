// Province overview: which schools fail and where, at a glance; one click to the site detail.
import { dashboard, siteDetailLink, type PanelSpec } from './builder.ts';
import { COMMUNES, FILTER_VARIABLES, OPERATORS, READINESS_LATEST, ROLLING_OVERALL, RP, SILENT_AFTER_S, SITES, UID, VERDICT_MAPPINGS, VERDICT_THRESHOLDS } from './common.ts';

const LAST_VERDICT = `SELECT last("verdict_code") AS "verdict_code" FROM "compliance" WHERE ${ROLLING_OVERALL} AND "profile" =~ /^$profile$/ AND ${SITES} AND $timeFilter GROUP BY "site"`;

const count = (title: string, code: number, description: string, color: string): PanelSpec => ({
  type: 'stat',
  title,
  description,
  w: 4,
  h: 5,
  thresholds: [{ value: null, color }],
  targets: [{ refId: 'A', query: `SELECT count("verdict_code") AS "sites" FROM (${LAST_VERDICT}) WHERE "verdict_code" = ${code}` }],
  options: { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'background', graphMode: 'none' },
});

const panels: PanelSpec[] = [
  count('Đạt', 1, 'Sites whose latest rolling-30-day overall verdict is PASS', 'green'),
  count('Không đạt', 0, 'Sites whose latest rolling-30-day overall verdict is FAIL', 'red'),
  count('Chưa đủ dữ liệu', -1, 'Sites whose latest rolling-30-day overall verdict is INSUFFICIENT EVIDENCE (too few samples)', 'gray'),
  {
    type: 'table',
    title: 'Điểm trường mất liên lạc',
    description: `Sites silent now: no heartbeat or result from any active device for more than ${SILENT_AFTER_S / 60} minutes (presence, last 15 minutes)`,
    w: 12,
    h: 5,
    unit: 's',
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT "age" AS "last_seen_age_s" FROM (SELECT min("age") AS "age" FROM (SELECT last("last_seen_age_s") AS "age" FROM "presence" WHERE "revoked" = false AND ${SITES} AND time > now() - 15m GROUP BY "site", "device") GROUP BY "site") WHERE "age" > ${SILENT_AFTER_S} GROUP BY "site"`,
      },
    ],
    displayNames: { site: 'Điểm trường', last_seen_age_s: 'Im lặng từ' },
    fieldLinks: { site: siteDetailLink(UID.site) },
  },
  {
    type: 'geomap',
    title: 'Bản đồ điểm trường theo kết quả',
    description: 'Map of sites coloured by their rolling-30-day verdict (green PASS, red FAIL, grey INSUFFICIENT). Coordinates come from the registry through the site_info measurement the collector writes.',
    w: 24,
    h: 14,
    thresholds: VERDICT_THRESHOLDS,
    mappings: VERDICT_MAPPINGS,
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT last("latitude") AS "latitude", last("longitude") AS "longitude", last("name") AS "name" FROM "site_info" WHERE ${SITES} AND time > now() - 7d GROUP BY "site", "commune", "operator"`,
      },
      { refId: 'B', format: 'table', query: `SELECT last("verdict_code") AS "verdict_code", last("verdict") AS "verdict" FROM "compliance" WHERE ${ROLLING_OVERALL} AND "profile" =~ /^$profile$/ AND ${SITES} AND $timeFilter GROUP BY "site"` },
    ],
    transformations: [{ id: 'joinByField', options: { byField: 'site', mode: 'outer' } }],
    fieldLinks: { site: siteDetailLink(UID.site) },
    options: {
      view: { id: 'coords', lat: 22.3, lon: 104.2, zoom: 8 },
      controls: { showZoom: true, mouseWheelZoom: true },
      layers: [
        {
          type: 'markers',
          name: 'Điểm trường',
          location: { mode: 'coords', latitude: 'latitude', longitude: 'longitude' },
          config: { style: { color: { field: 'verdict_code', fixed: 'gray' }, size: { fixed: 6 }, text: { field: 'site', mode: 'field' } } },
          tooltip: true,
        },
      ],
    },
  },
  {
    type: 'table',
    title: 'Theo xã và nhà mạng',
    description: 'Per commune and operator over the range, from the daily rollups: TCP latency (mean of the sites\' daily means of hourly medians), jitter, loss weighted by attempts, median download, uptime share of observed time. Latency and uptime come from the commune-level rollups: they follow the commune and operator filters, not a site selection',
    w: 24,
    h: 10,
    interval: '1d',
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT sum("rtt_sum") / sum("rtt_n") AS "rtt_median_ms", sum("jitter_sum") / sum("jitter_n") AS "jitter_ms", (sum("sent") - sum("received")) / sum("sent") * 100 AS "loss_pct" FROM ${RP}."latency_area_1d" WHERE "method" = 'tcp_connect' AND ${OPERATORS} AND ${COMMUNES} AND $timeFilter GROUP BY "commune", "operator"`,
      },
      { refId: 'B', format: 'table', query: `SELECT median("mbps_median") AS "download_mbps" FROM ${RP}."throughput_1d" WHERE "direction" = 'download' AND ${OPERATORS} AND ${SITES} AND $timeFilter GROUP BY "commune", "operator"` },
      { refId: 'C', format: 'table', query: `SELECT sum("up_s") / sum("observed_s") * 100 AS "uptime_pct" FROM ${RP}."uptime_area_1d" WHERE ${OPERATORS} AND ${COMMUNES} AND $timeFilter GROUP BY "commune", "operator"` },
    ],
    transformations: [{ id: 'merge', options: {} }],
    displayNames: { commune: 'Xã', operator: 'Nhà mạng', rtt_median_ms: 'Độ trễ (ms)', jitter_ms: 'Jitter (ms)', loss_pct: 'Mất gói (%)', download_mbps: 'Tải xuống (Mbit/s)', uptime_pct: 'Thời gian hoạt động (%)' },
  },
  {
    type: 'table',
    title: 'Điểm trường có tốc độ thấp nhất',
    description: 'Worst sites: the 20 lowest median download rates over the range (daily rollups), with a link to the site detail',
    w: 12,
    h: 10,
    interval: '1d',
    unit: 'Mbits',
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT bottom("mbps", "site", 20) AS "download_mbps" FROM (SELECT median("mbps_median") AS "mbps" FROM ${RP}."throughput_1d" WHERE "direction" = 'download' AND ${OPERATORS} AND ${SITES} AND $timeFilter GROUP BY "site")`,
      },
    ],
    displayNames: { site: 'Điểm trường', download_mbps: 'Tải xuống trung vị (Mbit/s)' },
    fieldLinks: { site: siteDetailLink(UID.site) },
  },
  {
    type: 'table',
    title: 'Điểm trường không đạt và lý do',
    description: 'Sites whose latest rolling-30-day overall verdict is FAIL, with the reason the compliance engine gave',
    w: 12,
    h: 10,
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT "reason", "verdict" FROM (SELECT last("verdict_code") AS "code", last("verdict") AS "verdict", last("reason") AS "reason" FROM "compliance" WHERE ${ROLLING_OVERALL} AND "profile" =~ /^$profile$/ AND ${SITES} AND $timeFilter GROUP BY "site", "commune", "operator") WHERE "code" = 0 GROUP BY "site", "commune", "operator"`,
      },
    ],
    mappings: VERDICT_MAPPINGS,
    displayNames: { site: 'Điểm trường', commune: 'Xã', operator: 'Nhà mạng', reason: 'Lý do', verdict: 'Kết quả' },
    fieldLinks: { site: siteDetailLink(UID.site) },
  },
  {
    type: 'table',
    title: 'Sẵn sàng học trực tuyến theo điểm trường',
    description: 'Online-class readiness per site over the rolling 30 days of its latest verdict (docs/compliance.md): the median, over its tests, of the simultaneous video classes the line carries and of the AIM-style grades for video calls and streaming (0 bad … 4 great), and the number of tests. Stored by the compliance engine with the verdict, so it is read as one point per site',
    w: 24,
    targets: [{ refId: 'A', format: 'table', query: `${READINESS_LATEST} FROM "compliance" WHERE ${ROLLING_OVERALL} AND "profile" =~ /^$profile$/ AND ${OPERATORS} AND ${SITES} AND $timeFilter GROUP BY "site", "commune", "operator"` }],
    displayNames: { site: 'Điểm trường', commune: 'Xã', operator: 'Nhà mạng', video_classes: 'Số lớp học video đồng thời', video_call_grade: 'Gọi video (0–4)', streaming_grade: 'Xem video (0–4)', tests: 'Số lần đo' },
    fieldLinks: { site: siteDetailLink(UID.site) },
  },
];

export const province = dashboard({
  uid: UID.province,
  title: 'songcheck — Tổng quan tỉnh',
  description: 'Province overview: verdicts, map, communes and operators, worst and silent sites',
  time: { from: 'now-30d', to: 'now' },
  refresh: '5m',
  variables: FILTER_VARIABLES,
  links: [
    { type: 'link', title: 'Chi tiết điểm trường', url: `/d/${UID.site}`, includeVars: true },
    { type: 'dashboards', title: 'songcheck' },
  ],
  panels,
});
