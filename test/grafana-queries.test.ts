// Every panel query and every Grafana alert rule query of the committed dashboards, with Grafana's macros and
// variables substituted, against a real InfluxDB holding a known dataset written through the real collector.
// A query that parses but returns nothing fails, and so does one whose series, fields or values differ.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { degradedThroughput } from '../collector/alerts/rules/degraded-throughput.ts';
import type { RuleContext } from '../collector/alerts/types.ts';
import { resultToPoint, toLine } from '../collector/influx/points.ts';
import { createInfluxWriter } from '../collector/influx/writer.ts';
import { markLeftOut } from '../collector/throughput/left-out.ts';
import { Result } from '../protocol/results.ts';
import { ALERT_DEFAULTS, ALERT_RULES } from '../dashboards/src/alerts.ts';
import { createDb, influxQuery, type InfluxRow, uniqueTestDb } from './support/influx-query.ts';
import { type Dataset, loadGrafanaDataset, throughput } from './support/grafana-dataset.ts';
import { type Dashboard, loadDashboards, resolveVariables, runTarget } from './support/grafana-panels.ts';
import { createStack, type Stack } from './support/stack.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('grafana');
let stack: Stack;
let data: Dataset;
const dashboards = loadDashboards();
const byUid = (uid: string) => dashboards.find((d) => d.uid === uid)!;

beforeAll(async () => {
  await createDb(influxUrl, db);
  stack = await createStack({ influxUrl, db, siteCode: 'ZZ-EMPTY', siteArgs: [] });
  await stack.startCollector();
  data = await loadGrafanaDataset(stack, influxUrl, db);
}, 180_000);

afterAll(async () => {
  await stack?.stopCollector();
  stack?.cleanup();
});

/** One row per tag value of `tag` (the row's tag or its column), mapped to the field `field`. */
function by(rows: InfluxRow[], tag: string, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of rows) out[String(r.tags[tag] ?? r[tag])] = r.tags[field] ?? r[field];
  return out;
}
const key = (...parts: string[]) => parts.join('|');
const nonNull = (rows: InfluxRow[], field: string) => rows.filter((r) => r[field] !== null && r[field] !== undefined);

type Check = (rows: InfluxRow[]) => void;
const devices = () => data.devices;

// What each panel target must return for the known dataset: series (tags), fields and values.
const EXPECT: Record<string, Check> = {
  [key('songcheck-province', 'Đạt', 'A')]: (rows) => expect(rows.map((r) => r.sites)).toEqual([1]),
  [key('songcheck-province', 'Không đạt', 'A')]: (rows) => expect(rows.map((r) => r.sites)).toEqual([1]),
  [key('songcheck-province', 'Chưa đủ dữ liệu', 'A')]: (rows) => expect(rows.map((r) => r.sites)).toEqual([1]),
  [key('songcheck-province', 'Điểm trường mất liên lạc', 'A')]: (rows) => expect(by(rows, 'site', 'last_seen_age_s')).toEqual({ 'LC-0003': 7200 }),
  [key('songcheck-province', 'Bản đồ điểm trường theo kết quả', 'A')]: (rows) => {
    // A site without coordinates in the registry is listed without a position (the map leaves it out).
    expect(by(rows, 'site', 'latitude')).toEqual({ 'LC-0001': 22.33, 'LC-0002': 22.6, 'LC-0003': 22.61, 'ZZ-EMPTY': null });
    expect(by(rows, 'site', 'longitude')).toEqual({ 'LC-0001': 103.84, 'LC-0002': 103.9, 'LC-0003': 103.95, 'ZZ-EMPTY': null });
    expect(by(rows, 'site', 'name')['LC-0002']).toBe('Điểm trường Bản Xèo');
  },
  [key('songcheck-province', 'Bản đồ điểm trường theo kết quả', 'B')]: (rows) => expect(by(rows, 'site', 'verdict_code')).toEqual({ 'LC-0001': 1, 'LC-0002': 0, 'LC-0003': -1 }),
  [key('songcheck-province', 'Theo xã và nhà mạng', 'A')]: (rows) => {
    expect(by(rows, 'operator', 'loss_pct')).toEqual({ viettel: 0, vnpt: 20, mobifone: 0 });
    expect(by(rows, 'operator', 'rtt_median_ms')).toEqual({ viettel: 40, vnpt: 200, mobifone: 80 });
    expect(by(rows, 'operator', 'commune')).toEqual({ viettel: 'Sa Pa', vnpt: 'Bản Xèo', mobifone: 'Bản Xèo' });
  },
  [key('songcheck-province', 'Theo xã và nhà mạng', 'B')]: (rows) => expect(by(rows, 'operator', 'download_mbps')).toEqual({ viettel: 30, vnpt: 3, mobifone: 10 }),
  [key('songcheck-province', 'Theo xã và nhà mạng', 'C')]: (rows) => expect(by(rows, 'operator', 'uptime_pct')).toEqual({ viettel: 100, vnpt: 50, mobifone: 100 }),
  [key('songcheck-province', 'Điểm trường có tốc độ thấp nhất', 'A')]: (rows) => {
    expect(by(rows, 'site', 'download_mbps')).toEqual({ 'LC-0002': 3, 'LC-0003': 10, 'LC-0001': 30 });
  },
  // LC-0002's one readiness test (3 / 1 Mbit/s, 20 % loss): no class, video calls poor, streaming bad.
  [key('songcheck-province', 'Sẵn sàng học trực tuyến theo điểm trường', 'A')]: (rows) => {
    expect(rows.map((r) => [r.tags.site ?? r.site, r.video_classes, r.video_call_grade, r.streaming_grade, r.tests])).toEqual([['LC-0002', 0, 1, 0, 1]]);
  },
  [key('songcheck-operators', 'Sẵn sàng học trực tuyến theo nhà mạng', 'A')]: (rows) => {
    expect(rows.map((r) => [r.tags.operator ?? r.operator, r.video_classes, r.video_call_grade, r.streaming_grade, r.tests])).toEqual([['vnpt', 0, 1, 0, 1]]);
  },
  [key('songcheck-province', 'Điểm trường không đạt và lý do', 'A')]: (rows) => {
    expect(by(rows, 'site', 'reason')).toEqual({ 'LC-0002': 'median download 3 Mbit/s below 20 Mbit/s' });
    expect(rows[0]!.tags).toMatchObject({ commune: 'Bản Xèo', operator: 'vnpt' });
  },

  [key('songcheck-site', 'Kết quả 30 ngày', 'A')]: (rows) => expect(rows.map((r) => r.verdict_code)).toEqual([0]),
  [key('songcheck-site', 'Tiêu chí và lý do', 'A')]: (rows) => {
    expect(by(rows, 'criterion', 'verdict')).toEqual({ overall: 'FAIL', download_median: 'FAIL', upload_median: 'FAIL' });
    expect(by(rows, 'criterion', 'threshold')).toMatchObject({ download_median: 20, upload_median: 5 });
    expect(by(rows, 'criterion', 'value')).toMatchObject({ download_median: 3 });
  },
  [key('songcheck-site', 'Độ trễ (TCP)', 'A')]: (rows) => {
    expect(new Set(nonNull(rows, 'rtt_median_ms').map((r) => r.rtt_median_ms))).toEqual(new Set([200]));
    expect(new Set(nonNull(rows, 'rtt_p95_ms').map((r) => r.rtt_p95_ms))).toEqual(new Set([300]));
  },
  [key('songcheck-site', 'Jitter và mất gói', 'A')]: (rows) => expect(new Set(rows.map((r) => r.jitter_ms))).toEqual(new Set([40])),
  [key('songcheck-site', 'Jitter và mất gói', 'B')]: (rows) => expect(new Set(rows.map((r) => r.loss_pct))).toEqual(new Set([20])),
  [key('songcheck-site', 'Tốc độ tải xuống / tải lên', 'A')]: (rows) => {
    expect(new Set(rows.filter((r) => r.tags.direction === 'download').map((r) => r.mbps))).toEqual(new Set([3]));
    expect(new Set(rows.filter((r) => r.tags.direction === 'upload').map((r) => r.mbps))).toEqual(new Set([1]));
  },
  [key('songcheck-site', 'Tốc độ tải xuống / tải lên', 'B')]: (rows) => {
    expect(new Set(nonNull(rows, 'threshold').map((r) => `${r.tags.criterion}=${r.threshold}`))).toEqual(new Set(['download_median=20', 'upload_median=5']));
  },
  [key('songcheck-site', 'Tốc độ duy trì và tăng tốc (boost)', 'A')]: (rows) => expect(new Set(nonNull(rows, 'sustained_mbps').map((r) => r.sustained_mbps))).toEqual(new Set([3])),
  [key('songcheck-site', 'Tốc độ duy trì và tăng tốc (boost)', 'B')]: (rows) => expect(nonNull(rows, 'boost_peak_mbps').map((r) => r.boost_peak_mbps)).toEqual([12]),
  [key('songcheck-site', 'Các lần đo thấy tăng tốc (boost)', 'A')]: (rows) => {
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tags: { direction: 'download', method: 'http_multistream' }, mbps: 3, boost_peak_mbps: 12, boost_mb: 8, boost_s: 5.5, boost_learning: true });
  },
  [key('songcheck-site', 'Độ trễ khi có tải', 'A')]: (rows) => {
    expect(new Set(rows.map((r) => r.tags.direction))).toEqual(new Set(['download', 'upload']));
    expect(new Set(rows.map((r) => `${r.idle_rtt_ms}/${r.loaded_rtt_median_ms}/${r.loaded_rtt_p95_ms}`))).toEqual(new Set(['40/120/200']));
  },
  [key('songcheck-site', 'Đường tới router (mạng nội bộ của trường)', 'A')]: (rows) => expect(new Set(rows.map((r) => `${r.gateway_rtt_ms}/${r.gateway_loss_pct}`))).toEqual(new Set(['3/0'])),
  [key('songcheck-site', 'Đường tới router (mạng nội bộ của trường)', 'B')]: (rows) => expect(new Set(rows.map((r) => `${r.link_mbps}/${r.wifi_signal_dbm}`))).toEqual(new Set(['6/-78'])),
  [key('songcheck-site', 'Lần đo không tính cho nhà mạng', 'A')]: (rows) => {
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tags: { direction: 'download' }, mbps: 3, lan_reason: 'Wi-Fi link rate 6 Mbit/s at the time, signal -78 dBm', lan_medium: 'wifi', lan_link_mbps: 6, gateway_loaded_rtt_ms: 90 });
  },
  [key('songcheck-site', 'Lần đo không tính cho nhà mạng', 'B')]: (rows) => {
    expect(rows.map((r) => [r.mbps, r.cross_traffic_mbps, r.busy_rtt_inflation_ms, r.busy_iface_mbps, r.postponed])).toEqual([[3, 4, 160, 2.5, 3]]);
  },
  // 3 / 1 Mbit/s, 80 ms more under load, 40 ms jitter, 20 % loss: no class (loss), video calls poor (5 points), streaming bad (10).
  [key('songcheck-site', 'Sẵn sàng học trực tuyến', 'A')]: (rows) => expect(rows.map((r) => [r.video_classes, r.video_call_grade, r.streaming_grade])).toEqual([[0, 1, 0]]),
  [key('songcheck-site', 'Trạng thái kết nối (mỗi 15 phút)', 'A')]: (rows) => {
    expect(nonNull(rows, 'uptime_pct').map((r) => r.uptime_pct)).toEqual([50, 50, 50, 50]);
    // Slots with no point stay empty (device off or unknown), never 0.
    expect(rows.length - 4).toBeGreaterThan(600);
  },
  [key('songcheck-site', 'Các lần mất kết nối', 'A')]: (rows) => {
    expect(rows.map((r) => [r.tags.kind, r.duration_s, r.ended_by, r.time, r.end_at])).toEqual([['link_down', 600, 'recovered', data.now - 40 * 60_000, data.now - 30 * 60_000]]);
  },
  [key('songcheck-site', 'Thiết bị tắt hoặc ngủ', 'A')]: (rows) => expect(rows.map((r) => [r.tags.event, r.gap_s, r.booted])).toEqual([['unclean_stop', 3600, true]]),
  // One bucket per UTC day: the dataset's last 2.5 hours straddle midnight when the test runs just after it.
  [key('songcheck-site', 'Dữ liệu đã dùng so với hạn mức', 'A')]: (rows) => expect(new Set(rows.map((r) => `${r.budget_used_bytes}/${r.budget_left_bytes}`))).toEqual(new Set(['1000000000/0'])),
  [key('songcheck-site', 'Thông tin thiết bị', 'A')]: (rows) => {
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tags: { device: devices()['LC-0002'] }, hostname: 'pc-LC-0002', agent_version: '0.1.0', os: 'Debian GNU/Linux', modem_operator: 'VinaPhone', modem_access_tech: '4g', modem_signal_pct: 61 });
  },

  [key('songcheck-operators', 'So sánh nhà mạng', 'A')]: (rows) => {
    expect(by(rows, 'operator', 'loss_pct')).toEqual({ viettel: 0, vnpt: 20, mobifone: 0 });
    expect(by(rows, 'operator', 'link_type')).toEqual({ viettel: '4g', vnpt: '4g', mobifone: '3g' });
  },
  [key('songcheck-operators', 'So sánh nhà mạng', 'B')]: (rows) => expect(by(rows, 'operator', 'download_mbps')).toEqual({ viettel: 30, vnpt: 3, mobifone: 10 }),
  [key('songcheck-operators', 'So sánh nhà mạng', 'C')]: (rows) => expect(by(rows, 'operator', 'upload_mbps')).toEqual({ viettel: 8, vnpt: 1 }),
  [key('songcheck-operators', 'So sánh nhà mạng', 'D')]: (rows) => expect(by(rows, 'operator', 'uptime_pct')).toEqual({ viettel: 100, vnpt: 50, mobifone: 100 }),
  [key('songcheck-operators', 'Tốc độ tải xuống theo nhà mạng', 'A')]: (rows) => {
    expect(new Set(nonNull(rows, 'download_mbps').map((r) => `${r.tags.operator}=${r.download_mbps}`))).toEqual(new Set(['viettel=30', 'vnpt=3', 'mobifone=10']));
  },
  [key('songcheck-operators', 'Độ trễ theo nhà mạng', 'A')]: (rows) => {
    expect(new Set(nonNull(rows, 'rtt_median_ms').map((r) => `${r.tags.operator}=${r.rtt_median_ms}`))).toEqual(new Set(['viettel=40', 'vnpt=200', 'mobifone=80']));
  },
  [key('songcheck-operators', 'Kết quả theo nhà mạng', 'A')]: (rows) => expect(by(rows, 'operator', 'pass')).toEqual({ viettel: 1 }),
  [key('songcheck-operators', 'Kết quả theo nhà mạng', 'B')]: (rows) => expect(by(rows, 'operator', 'fail')).toEqual({ vnpt: 1 }),
  [key('songcheck-operators', 'Kết quả theo nhà mạng', 'C')]: (rows) => expect(by(rows, 'operator', 'insufficient')).toEqual({ mobifone: 1 }),

  [key('songcheck-fleet', 'Thiết bị: lần cuối liên lạc, phiên bản, nền tảng', 'A')]: (rows) => {
    expect(by(rows, 'device', 'last_seen_age_s')).toEqual({ [devices()['LC-0001']]: 30, [devices()['LC-0002']]: 60, [devices()['LC-0003']]: 7200, [data.revokedDevice]: 86_400 });
    expect(by(rows, 'device', 'clock_offset_ms')[devices()['LC-0002']]).toBe(200_000);
    expect(by(rows, 'device', 'revoked')[data.revokedDevice]).toBe(true);
  },
  [key('songcheck-fleet', 'Thiết bị: lần cuối liên lạc, phiên bản, nền tảng', 'B')]: (rows) => {
    expect(Object.keys(by(rows, 'device', 'os')).sort()).toEqual(Object.values(devices()).sort());
    expect(new Set(rows.map((r) => `${r.os} ${r.os_version} ${r.arch}`))).toEqual(new Set(['Debian GNU/Linux 12 arm64']));
  },
  [key('songcheck-fleet', 'Hàng đợi chưa gửi', 'A')]: (rows) => expect(by(rows, 'site', 'queue_depth')).toEqual({ 'LC-0001': 0, 'LC-0002': 1500, 'LC-0003': 3 }),
  [key('songcheck-fleet', 'Lệch đồng hồ', 'A')]: (rows) => expect(by(rows, 'site', 'clock_offset_ms')).toEqual({ 'LC-0001': 20, 'LC-0002': 200_000, 'LC-0003': 50 }),
  [key('songcheck-fleet', 'Hạn mức dữ liệu', 'A')]: (rows) => expect(by(rows, 'site', 'budget_left_bytes')).toEqual({ 'LC-0001': 8e8, 'LC-0002': 0, 'LC-0003': 9e8 }),
  [key('songcheck-fleet', 'Thiết bị bị gắn cờ', 'A')]: (rows) => expect(rows.map((r) => [r.tags.site, r.tags.device, r.tags.flag, r.count])).toEqual([['LC-0002', data.devices['LC-0002'], 'series_budget', 1]]),
  [key('songcheck-fleet', 'Thiết bị đã thu hồi', 'A')]: (rows) => expect(rows.map((r) => [r.tags.device, r.revoked, r.agent_version])).toEqual([[data.revokedDevice, true, '0.0.8']]),
};

describe('Grafana panel queries against the known dataset', () => {
  it('has an expectation for every panel target, and none for a target that no longer exists', () => {
    const targets = dashboards.flatMap((d) => d.panels.flatMap((p) => p.targets.map((t) => key(d.uid, p.title, t.refId))));
    expect(new Set(targets).size).toBe(targets.length);
    expect(targets.filter((t) => !EXPECT[t])).toEqual([]);
    expect(Object.keys(EXPECT).filter((k) => !targets.includes(k))).toEqual([]);
  });

  it('resolves the variables from site_info: groups, operators, profiles, and the sites they leave', async () => {
    const vars = await resolveVariables(influxUrl, db, byUid('songcheck-province'));
    expect(vars.group!.options).toEqual(['(none)', 'Bát Xát cũ', 'Sa Pa cũ']);
    expect(vars.operator!.options).toEqual(['mobifone', 'viettel', 'vnpt']);
    expect(vars.profile!.options).toEqual(['default', 'school-4g']);
    expect(vars.site!.options).toEqual(['LC-0001', 'LC-0002', 'LC-0003', 'ZZ-EMPTY']);
    const narrowed = await resolveVariables(influxUrl, db, byUid('songcheck-province'), { group: ['Bát Xát cũ'], operator: ['vnpt'] });
    expect(narrowed.site!.options).toEqual(['LC-0002']);
  });

  const cases = dashboards.flatMap((d) => d.panels.flatMap((p) => p.targets.map((t) => ({ d, p, t }))));
  it.each(cases.map((c) => [`${c.d.uid} / ${c.p.title} / ${c.t.refId}`, c] as const))('%s', async (_name, { d, p, t }) => {
    const pick: Record<string, string[]> = d.uid === 'songcheck-site' ? { site: ['LC-0002'] } : {};
    const vars = await resolveVariables(influxUrl, db, d as Dashboard, pick);
    const { q, rows } = await runTarget(influxUrl, db, d as Dashboard, p, t.query, vars);
    expect(rows.length, `no rows from: ${q}`).toBeGreaterThan(0);
    EXPECT[key(d.uid, p.title, t.refId)]!(rows);
  });
});

describe('Grafana alert rule queries fire for exactly the expected sites', () => {
  const FIRING: Record<string, string[]> = {
    site_silent: ['LC-0003'],
    link_down: ['LC-0002'],
    degraded_throughput: ['LC-0002'],
    latency_over: ['LC-0002'],
    loss_over: ['LC-0002'],
    queue_backlog: ['LC-0002'],
    clock_offset: ['LC-0002'],
    budget_exhausted: ['LC-0002'],
    agent_outdated: ['LC-0002'],
    device_flagged: ['LC-0002'],
  };
  it.each(ALERT_RULES.map((r) => [r.rule, r] as const))('%s', async (_name, r) => {
    const rows = await influxQuery(influxUrl, db, r.query);
    expect(rows.length, `no rows from: ${r.query}`).toBeGreaterThan(0);
    const value = (row: InfluxRow) => Number(Object.entries(row).find(([k]) => k !== 'time' && k !== 'tags')![1]);
    const fires = rows.filter((row) => (r.evaluator.type === 'gt' ? value(row) > r.evaluator.value : value(row) < r.evaluator.value));
    expect([...new Set(fires.map((row) => row.tags.site))].sort()).toEqual(FIRING[r.rule]);
    // Labels for grouping (one message per commune) come from the series tags.
    for (const row of fires) expect(Object.keys(row.tags)).toEqual(expect.arrayContaining(['site', 'commune', 'operator']));
  });
});

// One definition of "confirmed degraded" (collector/alerts/rules/confirmed-failure.ts): Grafana's rule and the
// collector's own, over the same stored points, count the same confirmed failures for every site and so raise
// and clear together. Each site is one case; points are built by the collector's own ingest code (resultToPoint,
// then markLeftOut after the test server's state), so `left_out` is what ingest stores.
describe('degraded throughput: the Grafana rule and the collector rule agree', () => {
  const agreeDb = uniqueTestDb('degraded');
  const MIN = 60_000;
  const FLOOR = ALERT_DEFAULTS.throughputFloorMbps;
  // Each case: [first test's rate, its confirmation's rate or null (none ran), flags of the first, flags of the confirmation].
  type Flags = { cross_traffic?: true; lan_bottleneck?: true; server_limited?: true };
  type Case = [number, number | null, Flags?, Flags?];
  const CASES: Record<string, { tests: Case[]; failures: number }> = {
    // Three tests under the floor, each confirmed as low, among good ones: degraded.
    'AG-CONFIRMED': { tests: [[12, null], [3, 2], [9, null], [2, 3], [4, 1]], failures: 3 },
    // Four tests under the floor, confirmations back above it but one: one bad test each time.
    'AG-CONF-GOOD': { tests: [[3, 9], [2, 8], [4, 4.5], [1, 12]], failures: 1 },
    // Five single tests under the floor, none confirmed (yet): no evidence.
    'AG-SINGLE': { tests: [[12, null], [3, null], [2, null], [4, null], [1, null], [2, null]], failures: 0 },
    // Confirmations flagged (the school's traffic, its Wi-Fi, a busy test server): not the operator's. A first
    // test flagged but confirmed on a clean line does count: the confirmation is the evidence.
    'AG-FLAGGED': { tests: [[3, 2, {}, { cross_traffic: true }], [2, 2, {}, { lan_bottleneck: true }], [3, 1, {}, { server_limited: true }], [2, 3, { cross_traffic: true }, {}]], failures: 1 },
    // Degraded, then three good tests: one failure left in the window (the alert clears at ≤ 1).
    'AG-RECOVERED': { tests: [[3, 2], [2, 3], [4, 1], [10, null], [11, null], [12, null], [13, null]], failures: 1 },
    // A confirmation of a test at or above the profile's floor (an agent whose trigger is higher): not a failure.
    'AG-ABOVE-FLOOR-FIRST': { tests: [[6, 3], [7, 2], [3, 2], [2, 1]], failures: 2 },
    // Good tests under a rate a flag pushed down still show the line reaching the floor.
    'AG-FLAGGED-GOOD': { tests: [[3, 2], [3, 2], [3, 2], [20, null, { cross_traffic: true }], [20, null, { lan_bottleneck: true }], [30, null]], failures: 2 },
  };
  const now = Date.now();

  beforeAll(async () => {
    await createDb(influxUrl, agreeDb);
    const writer = createInfluxWriter({ url: influxUrl, database: agreeDb, timeoutMs: 10_000 });
    const lines: string[] = [];
    for (const [site, { tests }] of Object.entries(CASES)) {
      const identity = { deviceId: `dev-${site}`, site: { code: site, commune: 'Bản Xèo', operator: 'vnpt', linkType: '4g' } };
      const store = (at: number, mbps: number, flags: Flags = {}, extra: Record<string, unknown> = {}) => {
        const { server_limited, ...agentFlags } = flags;
        const result = Result.parse(throughput(at, 'download', mbps, 8e8, { ...agentFlags, ...extra }));
        const point = resultToPoint(result, identity);
        // What the test server's state adds at ingest (collector/throughput/server-state-fields.ts).
        if (server_limited) point.booleanField('server_limited', true).stringField('server_limited_by', 'cpu');
        markLeftOut(result, point);
        lines.push(toLine(point));
        return result;
      };
      // Oldest first, one test every 90 minutes, its confirmation 30 minutes later.
      tests.forEach(([first, confirmation, firstFlags, confirmationFlags], i) => {
        const at = now - (tests.length - i) * 90 * MIN;
        const r = store(at, first, firstFlags);
        if (confirmation !== null) store(at + 30 * MIN, confirmation, confirmationFlags, { confirmation_of: r.id, confirmation_of_mbps: first });
      });
    }
    await writer.writeLines(lines);
  });

  it('counts the same confirmed failures per site, and so raises and clears the same', async () => {
    const rule = ALERT_RULES.find((r) => r.rule === 'degraded_throughput')!;
    const grafana = new Map((await influxQuery(influxUrl, agreeDb, rule.query)).map((row) => [row.tags.site!, Number(row.confirmed_failures)]));
    const writer = createInfluxWriter({ url: influxUrl, database: agreeDb, timeoutMs: 10_000 });
    const ctx = { now, sites: [], devices: [], query: (q: string) => writer.query(q), floorFor: () => FLOOR } as unknown as RuleContext;
    const params = degradedThroughput.params.parse({ lastN: ALERT_DEFAULTS.degradedN, raiseCount: ALERT_DEFAULTS.degradedM });
    const collector = new Map((await degradedThroughput.evaluate(params, ctx)).map((o) => [o.siteCode, o]));
    for (const [site, { failures }] of Object.entries(CASES)) {
      const g = grafana.get(site) ?? 0; // no row: no confirmed failure (Grafana's no-data state is OK)
      const c = collector.get(site)!;
      expect({ site, grafana: g, collector: c.value }).toEqual({ site, grafana: failures, collector: failures });
      const grafanaFires = g > rule.evaluator.value;
      const grafanaRecovers = g < rule.recover!.value;
      expect({ site, raise: c.raise, clear: c.clear }).toEqual({ site, raise: grafanaFires, clear: grafanaRecovers });
    }
    expect([...grafana.keys()].filter((s) => grafana.get(s)! > rule.evaluator.value)).toEqual(['AG-CONFIRMED']);
  });
});
