// Site detail: why one site passes or fails. Raw measurements (one site is small), not rollups.
import { dashboard, type PanelSpec } from './builder.ts';
import { SITE_DETAIL_VARIABLES, SITES, UID, VERDICT_MAPPINGS, VERDICT_THRESHOLDS } from './common.ts';

const TCP = `"method" = 'tcp_connect' AND ${SITES} AND $timeFilter`;

const panels: PanelSpec[] = [
  {
    type: 'stat',
    title: 'Kết quả 30 ngày',
    description: 'Latest rolling-30-day overall verdict of the site: PASS, FAIL or INSUFFICIENT EVIDENCE',
    w: 6,
    h: 6,
    mappings: VERDICT_MAPPINGS,
    thresholds: VERDICT_THRESHOLDS,
    targets: [{ refId: 'A', query: `SELECT last("verdict_code") AS "verdict_code" FROM "compliance" WHERE "period_kind" = 'rolling30' AND "criterion" = 'overall' AND ${SITES} AND $timeFilter` }],
    options: { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'background', graphMode: 'none' },
  },
  {
    type: 'table',
    title: 'Tiêu chí và lý do',
    description: 'Each criterion of the rolling-30-day verdict: statistic, mean (the regulation figure), threshold, samples against the minimum, and the reason',
    w: 18,
    h: 6,
    mappings: VERDICT_MAPPINGS,
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT last("verdict") AS "verdict", last("value") AS "value", last("mean") AS "mean", last("threshold") AS "threshold", last("samples") AS "samples", last("min_samples") AS "min_samples", last("reason") AS "reason" FROM "compliance" WHERE "period_kind" = 'rolling30' AND "profile" =~ /^$profile$/ AND ${SITES} AND $timeFilter GROUP BY "criterion"`,
      },
    ],
    displayNames: { criterion: 'Tiêu chí', verdict: 'Kết quả', value: 'Giá trị', mean: 'Trung bình', threshold: 'Ngưỡng', samples: 'Số mẫu', min_samples: 'Số mẫu tối thiểu', reason: 'Lý do' },
  },
  {
    type: 'timeseries',
    title: 'Độ trễ (TCP)',
    description: 'Latency: TCP connect round-trip time to the test server, median and p95 of each run, averaged per interval',
    unit: 'ms',
    thresholds: [{ value: null, color: 'green' }, { value: 100, color: 'orange' }, { value: 150, color: 'red' }],
    thresholdLines: true,
    targets: [{ refId: 'A', query: `SELECT mean("rtt_median_ms") AS "rtt_median_ms", mean("rtt_p95_ms") AS "rtt_p95_ms" FROM "latency" WHERE ${TCP} GROUP BY time($__interval) fill(none)` }],
    displayNames: { rtt_median_ms: 'Trung vị', rtt_p95_ms: 'P95' },
  },
  {
    type: 'timeseries',
    title: 'Jitter và mất gói',
    description: 'Jitter (ms) and packet loss (% of attempts, weighted by attempts) of the TCP latency runs',
    targets: [
      { refId: 'A', query: `SELECT mean("jitter_ms") AS "jitter_ms" FROM "latency" WHERE ${TCP} GROUP BY time($__interval) fill(none)` },
      { refId: 'B', query: `SELECT (sum("sent") - sum("received")) / sum("sent") * 100 AS "loss_pct" FROM "latency" WHERE ${TCP} GROUP BY time($__interval) fill(none)` },
    ],
    displayNames: { jitter_ms: 'Jitter (ms)', loss_pct: 'Mất gói (%)' },
  },
  {
    type: 'timeseries',
    title: 'Tốc độ tải xuống / tải lên',
    description: 'Throughput: steady-state Mbit/s of successful tests per direction, with the profile targets as lines (dashed: the site\'s own thresholds from the compliance engine; threshold lines: default 4G profile, 20 Mbit/s median and 5 Mbit/s floor)',
    unit: 'Mbits',
    min: 0,
    thresholds: [{ value: null, color: 'red' }, { value: 5, color: 'orange' }, { value: 20, color: 'green' }],
    thresholdLines: true,
    targets: [
      { refId: 'A', alias: '$tag_direction', query: `SELECT mean("mbps") AS "mbps" FROM "throughput" WHERE "code" = 'ok' AND ${SITES} AND $timeFilter GROUP BY time($__interval), "direction" fill(none)` },
      { refId: 'B', alias: 'ngưỡng $tag_criterion', query: `SELECT last("threshold") AS "threshold" FROM "compliance" WHERE "period_kind" = 'rolling30' AND "criterion" =~ /^(download|upload)/ AND ${SITES} AND $timeFilter GROUP BY time(1d), "criterion" fill(previous)` },
    ],
  },
  {
    type: 'timeseries',
    title: 'Tốc độ duy trì và tăng tốc (boost)',
    description: "Boosts (docs/throughput.md): the download rate the link sustains (the figure verdicts use) against the boost's peak rate where a test saw the rate step down; the gap is what a test stopped inside the boost would have claimed",
    unit: 'Mbits',
    min: 0,
    custom: { drawStyle: 'points', pointSize: 6 },
    targets: [
      { refId: 'A', query: `SELECT mean("mbps") AS "sustained_mbps" FROM "throughput" WHERE "direction" = 'download' AND "code" = 'ok' AND ${SITES} AND $timeFilter GROUP BY time($__interval) fill(none)` },
      { refId: 'B', query: `SELECT max("boost_peak_mbps") AS "boost_peak_mbps" FROM "throughput" WHERE "direction" = 'download' AND "boost" = true AND ${SITES} AND $timeFilter GROUP BY time($__interval) fill(none)` },
    ],
    displayNames: { sustained_mbps: 'Tốc độ duy trì', boost_peak_mbps: 'Đỉnh tăng tốc (boost)' },
  },
  {
    type: 'table',
    title: 'Các lần đo thấy tăng tốc (boost)',
    description: 'Tests that saw a boost: sustained rate, the boost peak, how many MB and seconds it lasted, and whether it was a learning test',
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT "mbps", "boost_peak_mbps", "boost_bytes" / 1000000 AS "boost_mb", "boost_ms" / 1000 AS "boost_s", "boost_learning" FROM "throughput" WHERE "boost" = true AND ${SITES} AND $timeFilter GROUP BY "direction", "method"`,
      },
    ],
    displayNames: { direction: 'Chiều', method: 'Phương pháp', mbps: 'Tốc độ duy trì (Mbit/s)', boost_peak_mbps: 'Đỉnh (Mbit/s)', boost_mb: 'Dung lượng boost (MB)', boost_s: 'Thời gian boost (s)', boost_learning: 'Lần đo dài (học)' },
  },
  {
    type: 'timeseries',
    title: 'Độ trễ khi có tải',
    description: 'Loaded latency: idle RTT before each throughput test against the median and p95 RTT during the transfer, per direction',
    unit: 'ms',
    targets: [
      {
        refId: 'A',
        alias: '$col $tag_direction',
        query: `SELECT mean("idle_rtt_ms") AS "idle_rtt_ms", mean("loaded_rtt_median_ms") AS "loaded_rtt_median_ms", mean("loaded_rtt_p95_ms") AS "loaded_rtt_p95_ms" FROM "throughput" WHERE ${SITES} AND $timeFilter GROUP BY time($__interval), "direction" fill(none)`,
      },
    ],
  },
  {
    type: 'timeseries',
    title: 'Đường tới router (mạng nội bộ của trường)',
    description: "The path to the router (gateway probe, docs/throughput.md): round trip and loss of TCP handshakes to the school's router, and the local link's rate and Wi-Fi signal. A slow or lossy router path is the school's network, not the operator",
    targets: [
      { refId: 'A', query: `SELECT mean("rtt_median_ms") AS "gateway_rtt_ms", mean("loss_pct") AS "gateway_loss_pct" FROM "lan" WHERE ${SITES} AND $timeFilter GROUP BY time($__interval) fill(none)` },
      { refId: 'B', query: `SELECT mean("link_mbps") AS "link_mbps", mean("wifi_signal_dbm") AS "wifi_signal_dbm" FROM "lan" WHERE ${SITES} AND $timeFilter GROUP BY time($__interval) fill(none)` },
    ],
    displayNames: { gateway_rtt_ms: 'RTT tới router (ms)', gateway_loss_pct: 'Mất gói tới router (%)', link_mbps: 'Tốc độ liên kết (Mbit/s)', wifi_signal_dbm: 'Tín hiệu Wi-Fi (dBm)' },
  },
  {
    type: 'table',
    title: 'Lần đo không tính cho nhà mạng',
    description: "Tests the verdicts leave out, and why: the school's own network was the bottleneck (A: the reason, e.g. 'Wi-Fi link rate 6 Mbit/s at the time'), or the line was in use (B: cross traffic beside the test, RTT inflation before it, this computer's own traffic before it, times postponed). This computer's own traffic is the school's beyond dispute; RTT inflation alone may also be a congested cell (docs/compliance.md#tests-left-out)",
    targets: [
      { refId: 'A', format: 'table', query: `SELECT "mbps", "lan_reason", "lan_medium", "lan_link_mbps", "gateway_loaded_rtt_ms" FROM "throughput" WHERE "lan_bottleneck" = true AND ${SITES} AND $timeFilter GROUP BY "direction"` },
      { refId: 'B', format: 'table', query: `SELECT "mbps", "cross_traffic_mbps", "busy_rtt_inflation_ms", "busy_iface_mbps", "postponed" FROM "throughput" WHERE "cross_traffic" = true AND ${SITES} AND $timeFilter GROUP BY "direction"` },
    ],
    displayNames: { direction: 'Chiều', mbps: 'Tốc độ (Mbit/s)', lan_reason: 'Mạng nội bộ là điểm nghẽn', lan_medium: 'Kết nối', lan_link_mbps: 'Tốc độ liên kết', gateway_loaded_rtt_ms: 'RTT router khi có tải', cross_traffic_mbps: 'Lưu lượng khác (Mbit/s)', busy_rtt_inflation_ms: 'RTT tăng trước khi đo (ms)', busy_iface_mbps: 'Lưu lượng của máy này trước khi đo (Mbit/s)', postponed: 'Số lần hoãn' },
  },
  {
    type: 'timeseries',
    title: 'Sẵn sàng học trực tuyến',
    description: 'Online-class readiness per test (docs/compliance.md): simultaneous video classes the line carries, and the AIM-style grades for video calls and streaming (0 bad, 1 poor, 2 average, 3 good, 4 great)',
    min: 0,
    custom: { drawStyle: 'points', pointSize: 6 },
    targets: [{ refId: 'A', query: `SELECT mean("video_classes") AS "video_classes", mean("video_call_grade") AS "video_call_grade", mean("streaming_grade") AS "streaming_grade" FROM "readiness" WHERE ${SITES} AND $timeFilter GROUP BY time($__interval) fill(none)` }],
    displayNames: { video_classes: 'Số lớp học video', video_call_grade: 'Gọi video (0-4)', streaming_grade: 'Xem video (0-4)' },
  },
  {
    type: 'state-timeline',
    title: 'Trạng thái kết nối (mỗi 15 phút)',
    description: 'Uptime per 15-minute slot: share of the observed time the school had Internet (green ≥ 99 %, orange, red < 50 %). A slot with no point means the device was off or unknown, never an outage (docs/uptime.md).',
    w: 24,
    h: 5,
    unit: 'percent',
    thresholds: [{ value: null, color: 'red' }, { value: 50, color: 'orange' }, { value: 99, color: 'green' }],
    nullText: { text: 'Thiết bị tắt / không rõ', color: 'gray' },
    targets: [{ refId: 'A', query: `SELECT sum("up_s") / sum("observed_s") * 100 AS "uptime_pct" FROM "uptime" WHERE ${SITES} AND $timeFilter GROUP BY time(15m) fill(null)` }],
    displayNames: { uptime_pct: 'Có Internet (%)' },
    options: { showValue: 'never', mergeValues: true },
  },
  {
    type: 'table',
    title: 'Các lần mất kết nối',
    description: 'Outage intervals the agent saw (start time, kind: link_down, dns_down, collector_down; duration; how it ended)',
    unit: 's',
    targets: [{ refId: 'A', format: 'table', query: `SELECT "duration_s", "checks_failed", "ended_by", "end_at" FROM "outage" WHERE ${SITES} AND $timeFilter GROUP BY "kind"` }],
    displayNames: { kind: 'Loại', duration_s: 'Thời lượng', checks_failed: 'Số lần kiểm tra lỗi', ended_by: 'Kết thúc do', end_at: 'Kết thúc lúc' },
  },
  {
    type: 'table',
    title: 'Thiết bị tắt hoặc ngủ',
    description: 'Device-off periods: agent stops, unclean stops (power loss) and sleeps, with the gap and whether the device booted',
    unit: 's',
    targets: [{ refId: 'A', format: 'table', query: `SELECT "gap_s", "booted", "from_at", "to_at" FROM "agent_event" WHERE "event" =~ /^(stop|unclean_stop|sleep)$/ AND ${SITES} AND $timeFilter GROUP BY "event"` }],
    displayNames: { event: 'Sự kiện', gap_s: 'Khoảng dừng', booted: 'Khởi động lại', from_at: 'Từ', to_at: 'Đến' },
  },
  {
    type: 'timeseries',
    title: 'Dữ liệu đã dùng so với hạn mức',
    description: 'Data budget: bytes of the month\'s test budget used and left after each throughput test (used + left = the budget)',
    unit: 'bytes',
    custom: { stacking: { mode: 'normal' }, fillOpacity: 40 },
    targets: [{ refId: 'A', query: `SELECT last("budget_used_bytes") AS "budget_used_bytes", last("budget_left_bytes") AS "budget_left_bytes" FROM "throughput" WHERE ${SITES} AND $timeFilter GROUP BY time(1d) fill(none)` }],
    displayNames: { budget_used_bytes: 'Đã dùng', budget_left_bytes: 'Còn lại' },
  },
  {
    type: 'table',
    title: 'Thông tin thiết bị',
    description: 'Device facts: agent and OS version, host, CPU, memory, modem operator, access technology and signal, per device of the site',
    w: 12,
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT last("agent_version") AS "agent_version", last("hostname") AS "hostname", last("os") AS "os", last("os_version") AS "os_version", last("arch") AS "arch", last("mem_total_mb") AS "mem_total_mb", last("modem_operator") AS "modem_operator", last("modem_access_tech") AS "modem_access_tech", last("modem_signal_pct") AS "modem_signal_pct" FROM "device_facts" WHERE ${SITES} AND $timeFilter GROUP BY "device"`,
      },
    ],
    displayNames: { device: 'Thiết bị', agent_version: 'Phiên bản agent', hostname: 'Tên máy', os: 'Hệ điều hành', modem_operator: 'Nhà mạng (modem)', modem_access_tech: 'Công nghệ', modem_signal_pct: 'Tín hiệu (%)' },
  },
];

export const site = dashboard({
  uid: UID.site,
  title: 'songcheck — Chi tiết điểm trường',
  description: 'Site detail: latency, throughput against targets, uptime, outages, data budget, device facts and the verdict with its reasons',
  time: { from: 'now-7d', to: 'now' },
  variables: SITE_DETAIL_VARIABLES,
  links: [
    { type: 'link', title: 'Tổng quan tỉnh', url: `/d/${UID.province}` },
    { type: 'dashboards', title: 'songcheck' },
  ],
  panels,
});
