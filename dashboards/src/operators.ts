// Operator comparison: the same figures per operator and link type, from the hourly rollups.
import { dashboard, type PanelSpec } from './builder.ts';
import { COMMUNES, FILTER_VARIABLES, OPERATORS, READINESS_MEDIANS, ROLLING_OVERALL, RP, SITES, UID } from './common.ts';

const FILTER = `${OPERATORS} AND ${SITES} AND $timeFilter`;
/** The area rollups have no site tag: commune and operator filters only. */
const AREA_FILTER = `${OPERATORS} AND ${COMMUNES} AND $timeFilter`;

const verdictCount = (refId: string, code: number, name: string) => ({
  refId,
  format: 'table' as const,
  query: `SELECT count("verdict_code") AS "${name}" FROM (SELECT last("verdict_code") AS "verdict_code" FROM "compliance" WHERE ${ROLLING_OVERALL} AND "profile" =~ /^$profile$/ AND ${FILTER} GROUP BY "site", "operator") WHERE "verdict_code" = ${code} GROUP BY "operator"`,
});

const panels: PanelSpec[] = [
  {
    type: 'table',
    title: 'So sánh nhà mạng',
    description: 'Per operator and link type over the range (daily rollups): TCP latency (mean of the sites\' daily means of hourly medians), jitter, loss, median download and upload, uptime. Latency and uptime come from the commune-level rollups: they follow the commune and operator filters, not a site selection',
    w: 24,
    interval: '1d',
    targets: [
      { refId: 'A', format: 'table', query: `SELECT sum("rtt_sum") / sum("rtt_n") AS "rtt_median_ms", sum("jitter_sum") / sum("jitter_n") AS "jitter_ms", (sum("sent") - sum("received")) / sum("sent") * 100 AS "loss_pct" FROM ${RP}."latency_area_1d" WHERE "method" = 'tcp_connect' AND ${AREA_FILTER} GROUP BY "operator", "link_type"` },
      { refId: 'B', format: 'table', query: `SELECT median("mbps_median") AS "download_mbps", mean("mbps_mean") AS "download_mean_mbps" FROM ${RP}."throughput_1d" WHERE "direction" = 'download' AND ${FILTER} GROUP BY "operator", "link_type"` },
      { refId: 'C', format: 'table', query: `SELECT median("mbps_median") AS "upload_mbps" FROM ${RP}."throughput_1d" WHERE "direction" = 'upload' AND ${FILTER} GROUP BY "operator", "link_type"` },
      { refId: 'D', format: 'table', query: `SELECT sum("up_s") / sum("observed_s") * 100 AS "uptime_pct" FROM ${RP}."uptime_area_1d" WHERE ${AREA_FILTER} GROUP BY "operator", "link_type"` },
    ],
    transformations: [{ id: 'merge', options: {} }],
    displayNames: { operator: 'Nhà mạng', link_type: 'Loại kết nối', rtt_median_ms: 'Độ trễ (ms)', jitter_ms: 'Jitter (ms)', loss_pct: 'Mất gói (%)', download_mbps: 'Tải xuống trung vị', download_mean_mbps: 'Tải xuống trung bình', upload_mbps: 'Tải lên trung vị', uptime_pct: 'Hoạt động (%)' },
  },
  {
    type: 'timeseries',
    title: 'Tốc độ tải xuống theo nhà mạng',
    description: 'Median download (Mbit/s) per operator over time, from the hourly rollups',
    unit: 'Mbits',
    interval: '1h',
    targets: [{ refId: 'A', alias: '$tag_operator', query: `SELECT median("mbps_median") AS "download_mbps" FROM ${RP}."throughput_1h" WHERE "direction" = 'download' AND ${FILTER} GROUP BY time($__interval), "operator" fill(none)` }],
  },
  {
    type: 'timeseries',
    title: 'Độ trễ theo nhà mạng',
    description: 'Median TCP latency (ms) per operator over time, from the hourly rollups',
    unit: 'ms',
    interval: '1h',
    targets: [{ refId: 'A', alias: '$tag_operator', query: `SELECT median("rtt_median_ms") AS "rtt_median_ms" FROM ${RP}."latency_1h" WHERE "method" = 'tcp_connect' AND ${FILTER} GROUP BY time($__interval), "operator" fill(none)` }],
  },
  {
    type: 'table',
    title: 'Kết quả theo nhà mạng',
    description: 'Number of sites per operator by latest rolling-30-day verdict: PASS, FAIL, INSUFFICIENT',
    w: 24,
    targets: [verdictCount('A', 1, 'pass'), verdictCount('B', 0, 'fail'), verdictCount('C', -1, 'insufficient')],
    transformations: [{ id: 'merge', options: {} }],
    displayNames: { operator: 'Nhà mạng', pass: 'Đạt', fail: 'Không đạt', insufficient: 'Chưa đủ dữ liệu' },
  },
  {
    type: 'table',
    title: 'Sẵn sàng học trực tuyến theo nhà mạng',
    description: "Online-class readiness per operator over the range (docs/compliance.md): the median over the operator's tests of the simultaneous video classes and of the video-call and streaming grades (0 bad … 4 great)",
    w: 24,
    targets: [{ refId: 'A', format: 'table', query: `${READINESS_MEDIANS} FROM "readiness" WHERE ${FILTER} GROUP BY "operator"` }],
    displayNames: { operator: 'Nhà mạng', video_classes: 'Số lớp học video đồng thời', video_call_grade: 'Gọi video (0–4)', streaming_grade: 'Xem video (0–4)', tests: 'Số lần đo' },
  },
];

export const operators = dashboard({
  uid: UID.operators,
  title: 'songcheck — So sánh nhà mạng',
  description: 'Operator comparison: latency, loss, throughput, uptime and verdicts per operator and link type',
  time: { from: 'now-30d', to: 'now' },
  variables: FILTER_VARIABLES,
  links: [
    { type: 'link', title: 'Tổng quan tỉnh', url: `/d/${UID.province}`, includeVars: true },
    { type: 'dashboards', title: 'songcheck' },
  ],
  panels,
});
