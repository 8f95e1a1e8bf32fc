// The known dataset the Grafana query tests read: three sites with distinct verdicts, written through the real
// collector (sites and devices through its admin API, results through POST /api/v1/measurements), plus the
// collector-derived presence/compliance fixture and the hourly rollups computed by the collector's own SELECT INTO.
import { randomUUID } from 'node:crypto';
import { createInfluxWriter } from '../../collector/influx/writer.ts';
import { backfillRollups } from '../../collector/grafana/rollups.ts';
import type { ComplianceRun } from '../../collector/compliance/verdicts.ts';
import { readinessToPoints } from '../../collector/compliance/points.ts';
import { readinessOf } from '../../collector/compliance/readiness.ts';
import { readinessSummary } from '../../collector/compliance/readiness-summary.ts';
import { getDefaultProfiles } from '../../collector/school/profiles.ts';
import type { Result } from '../../protocol/results.ts';
import { type ComplianceFixture, type PresenceFixture, writeCollectorDerivedFixture } from './collector-derived-fixture.ts';
import { influxQuery } from './influx-query.ts';
import { eventually } from './processes.ts';
import { ADMIN_TOKEN, type Stack } from './stack.ts';

const MIN = 60_000;

export const SITES = [
  { code: 'LC-0001', name: 'Điểm trường Nậm Cang', commune: 'Sa Pa', operator: 'viettel', linkType: '4g', latitude: 22.33, longitude: 103.84, groups: ['Sa Pa cũ'] },
  { code: 'LC-0002', name: 'Điểm trường Bản Xèo', commune: 'Bản Xèo', operator: 'vnpt', linkType: '4g', latitude: 22.6, longitude: 103.9, groups: ['Bát Xát cũ'], profile: 'school-4g' },
  { code: 'LC-0003', name: 'Điểm trường Pa Cheo', commune: 'Bản Xèo', operator: 'mobifone', linkType: '3g', latitude: 22.61, longitude: 103.95, groups: ['Bát Xát cũ'] },
] as const;
type Code = (typeof SITES)[number]['code'];

export interface Dataset {
  now: number;
  devices: Record<Code, string>;
  revokedDevice: string;
}

async function admin(stack: Stack, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${stack.collectorUrl}/api/v1/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function enroll(stack: Stack, site: string): Promise<{ deviceId: string; token: string }> {
  const { code } = await admin(stack, 'POST', `/sites/${site}/enrollment-codes`, { uses: 1 });
  const res = await fetch(`${stack.collectorUrl}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, hostname: `pc-${site}`, platform: 'linux 6.1' }) });
  if (res.status !== 201) throw new Error(`enroll ${site}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { deviceId: string; token: string };
}

async function send(stack: Stack, token: string, results: Result[]): Promise<void> {
  const res = await fetch(`${stack.collectorUrl}/api/v1/measurements`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agentVersion: '0.1.0', results }),
  });
  const body = (await res.json()) as { stored: number; rejected: number; results: unknown[] };
  if (res.status !== 200 || body.rejected > 0) throw new Error(`measurements: ${res.status} ${JSON.stringify(body)}`);
}

const base = (probe: string, target: string, at: number, code = 'ok') => ({ id: randomUUID(), probe, target, measuredAt: at, code });

function tcp(at: number, sent: number, received: number, rtt: number, jitter: number): Result {
  return {
    ...base('tcp', 'collector:443', at, received === sent ? 'ok' : 'partial'),
    fields: { sent, received, loss_pct: ((sent - received) / sent) * 100, rtt_min_ms: rtt / 2, rtt_median_ms: rtt, rtt_mean_ms: rtt, rtt_p95_ms: rtt * 1.5, rtt_max_ms: rtt * 2, jitter_ms: jitter },
  } as Result;
}

/** A throughput result as an agent sends it (http_multistream against the collector). */
export function throughput(at: number, direction: 'download' | 'upload', mbps: number, budgetLeft: number, extra: Record<string, unknown> = {}): Result {
  return {
    ...base('throughput', 'http://collector', at),
    method: 'http_multistream',
    direction,
    fields: {
      mbps, bytes: 1e7, budget_bytes: 2e7, duration_ms: 8000, warmup_ms: 1000, streams: 4, server: 'collector:443', stopped_early: true, stop_reason: 'stable',
      byte_cap: 5e7, idle_rtt_ms: 40, loaded_rtt_median_ms: 120, loaded_rtt_p95_ms: 200, loaded_rtt_samples: 10, rpm: 500, budget_used_bytes: 1e9 - budgetLeft, budget_left_bytes: budgetLeft, ...extra,
    },
  } as Result;
}

function uptime(at: number, upS: number): Result {
  const checks = 15;
  const up = Math.round((upS / 900) * checks);
  return { ...base('uptime', 'link', at), fields: { checks, checks_up: up, checks_collector_down: 0, checks_dns_down: 0, checks_link_down: checks - up, observed_s: 900, up_s: upS } } as Result;
}

function health(at: number, queue: number, offset: number, behind: boolean): Result {
  return {
    ...base('agent_health', 'self', at),
    fields: { queue_depth: queue, queue_bytes: queue * 300, ...(queue > 0 ? { oldest_unsent_age_s: queue > 1000 ? 8 * 3600 : 60 } : {}), evicted_total: 0, skipped_corrupt_total: 0, rejected_total: 0, append_failed_total: 0, upload_failures: 0, uptime_s: 3600, rss_mb: 40, behind_recommended: behind, clock_offset_ms: offset, clock_corrected: false },
  } as Result;
}

function facts(at: number, host: string, modemOperator: string): Result {
  return {
    ...base('device_facts', 'self', at),
    fields: { agent_version: '0.1.0', node_version: 'v20.20.2', hostname: host, os: 'Debian GNU/Linux', os_version: '12', arch: 'arm64', cpu: 'Cortex-A72', cpu_cores: 4, mem_total_mb: 3800, mem_free_mb: 2000, system_uptime_s: 9000, modem_operator: modemOperator, modem_access_tech: '4g', modem_signal_pct: 61 },
  } as Result;
}

/** Slot start aligned to :00/:15/:30/:45, `n` slots before now's slot. */
const slot = (now: number, n: number) => Math.floor(now / (15 * MIN)) * 15 * MIN - n * 15 * MIN;

export async function loadGrafanaDataset(stack: Stack, influxUrl: string, db: string): Promise<Dataset> {
  for (const s of SITES) await admin(stack, 'POST', '/sites', s);
  // site_info is published at start-up (and on change, within a minute): a restart publishes the new sites now.
  await stack.stopCollector();
  await stack.startCollector();
  // Published in the background at start-up: wait until every site is there.
  await eventually(async () => {
    const published = (await influxQuery(influxUrl, db, 'SHOW TAG VALUES FROM "site_info" WITH KEY = "site"')).map((r) => r.value);
    return SITES.every((s) => published.includes(s.code)) ? true : undefined;
  }, 30_000, 'site_info for every site');
  const now = Date.now();
  const dev = { 'LC-0001': await enroll(stack, 'LC-0001'), 'LC-0002': await enroll(stack, 'LC-0002'), 'LC-0003': await enroll(stack, 'LC-0003') };
  const revoked = await enroll(stack, 'LC-0002');
  await admin(stack, 'POST', `/devices/${revoked.deviceId}/revoke`, { reason: 'replaced' });

  const at = (minutesAgo: number) => now - minutesAgo * MIN;
  // LC-0001: healthy. 6 latency runs, 3 fast downloads, full uptime.
  await send(stack, dev['LC-0001'].token, [
    ...[150, 130, 110, 90, 70, 50, 5, 3].map((m) => tcp(at(m), 10, 10, 40, 5)),
    ...[140, 100, 60].map((m) => throughput(at(m), 'download', 30, 8e8)),
    throughput(at(139), 'upload', 8, 8e8),
    ...[8, 7, 6, 5].map((n) => uptime(slot(now, n), 900)),
    health(at(10), 0, 20, false),
    facts(at(120), 'pc-LC-0001', 'Viettel'),
  ]);
  // LC-0002: degraded. 20 % loss and 200 ms, five slow downloads, budget used up, half uptime, a link_down
  // outage, an unclean stop, a backed-up queue, a clock off by 200 s, an old agent.
  // The first test saw the operator's boost: 8 MB at 12 Mbit/s before the rate fell to 3 (docs/throughput.md).
  const boosted = throughput(at(145), 'download', 3, 0, { boost: true, boost_peak_mbps: 12, boost_bytes: 8e6, boost_ms: 5500, boost_learning: true, curve_kbps: '12000,12000,3000,3000', curve_bin_ms: 250 });
  const slow = throughput(at(105), 'download', 3, 0, { boost: false, boost_learning: false });
  // A test the school's Wi-Fi limited, and one that ran beside the school's own traffic (docs/throughput.md).
  const wifi = throughput(at(75), 'download', 3, 0, { lan_bottleneck: true, lan_reason: 'Wi-Fi link rate 6 Mbit/s at the time, signal -78 dBm', lan_medium: 'wifi', lan_link_mbps: 6, lan_wifi_signal_dbm: -78, gateway_rtt_ms: 3, gateway_loaded_rtt_ms: 90 });
  // Each test under the floor confirmed within the hour, as low (the Wi-Fi one's confirmation ran on a clean
  // path): three confirmed failures, the degraded-throughput alert's evidence (docs/alerts.md).
  const confirms = (first: Result, m: number) => throughput(at(m), 'download', 3, 0, { boost: false, boost_learning: false, confirmation_of: first.id, confirmation_of_mbps: 3 });
  await send(stack, dev['LC-0002'].token, [
    ...[150, 130, 110, 90, 70, 50, 5, 3].map((m) => tcp(at(m), 10, 8, 200, 40)),
    boosted,
    confirms(boosted, 125),
    slow,
    confirms(slow, 85),
    confirms(wifi, 65),
    throughput(at(144), 'upload', 1, 0),
    wifi,
    throughput(at(95), 'download', 3, 0, { busy: true, cross_traffic: true, cross_traffic_mbps: 4, busy_rtt_inflation_ms: 160, busy_iface_mbps: 2.5, postponed: 3 }),
    // The path to the router: a PC on weak Wi-Fi.
    ...[80, 20].map((m) => ({ ...base('gateway', 'gateway', at(m)), fields: { sent: 5, received: 5, loss_pct: 0, rtt_median_ms: 3, jitter_ms: 1, lan_medium: 'wifi', port: 80, link_mbps: 6, wifi_signal_dbm: -78 } }) as Result),
    ...[8, 7, 6, 5].map((n) => uptime(slot(now, n), 450)),
    { ...base('outage', 'link', at(40)), kind: 'link_down', fields: { end_at: at(30), duration_s: 600, checks_failed: 10, ended_by: 'recovered' } } as Result,
    { ...base('agent_event', 'self', at(100)), event: 'unclean_stop', fields: { from_at: at(160), to_at: at(100), gap_s: 3600, booted: true, system_uptime_s: 60 } } as Result,
    health(at(10), 1500, 200_000, true),
    facts(at(120), 'pc-LC-0002', 'VinaPhone'),
  ]);
  // LC-0002's agent also reports one more DNS target than the series budget allows (32, the default): the
  // 33rd is refused and the device flagged (device_flag, the fleet dashboard and the Grafana rule).
  const overBudget = await fetch(`${stack.collectorUrl}/api/v1/measurements`, {
    method: 'POST',
    headers: { authorization: `Bearer ${dev['LC-0002'].token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agentVersion: '0.1.0', results: Array.from({ length: 33 }, (_, i) => ({ ...base('dns', `name-${i}.example.vn`, at(30)), fields: { answers: 1, resolve_ms: 20 } })) }),
  });
  const budget = (await overBudget.json()) as { stored: number; rejected: number };
  if (budget.stored !== 32 || budget.rejected !== 1) throw new Error(`series budget: ${JSON.stringify(budget)}`);
  // The flag's point is written after the answer (best effort): wait for it.
  await eventually(async () => ((await influxQuery(influxUrl, db, 'SELECT count("count") FROM "device_flag"')).length > 0 ? true : undefined), 30_000, 'the device_flag point');
  // LC-0003: too little evidence, and silent now.
  await send(stack, dev['LC-0003'].token, [tcp(at(170), 10, 10, 80, 10), tcp(at(160), 10, 10, 80, 10), throughput(at(165), 'download', 10, 9e8), uptime(slot(now, 11), 900), health(at(170), 3, 50, false), facts(at(170), 'pc-LC-0003', 'Mobifone')]);

  const writer = createInfluxWriter({ url: influxUrl, database: db, timeoutMs: 10_000 });
  const tags = (code: Code) => {
    const s = SITES.find((x) => x.code === code)!;
    return { site: s.code, commune: s.commune, operator: s.operator, link_type: s.linkType };
  };
  const presence: PresenceFixture[] = [
    { ...tags('LC-0001'), device: dev['LC-0001'].deviceId, at: at(1), connected: true, last_seen_age_s: 30, clock_offset_ms: 20, agent_version: '0.1.0', revoked: false },
    { ...tags('LC-0002'), device: dev['LC-0002'].deviceId, at: at(1), connected: true, last_seen_age_s: 60, clock_offset_ms: 200_000, agent_version: '0.0.9', revoked: false },
    { ...tags('LC-0002'), device: revoked.deviceId, at: at(1), connected: false, last_seen_age_s: 86_400, agent_version: '0.0.8', revoked: true },
    { ...tags('LC-0003'), device: dev['LC-0003'].deviceId, at: at(1), connected: false, last_seen_age_s: 7200, clock_offset_ms: 50, agent_version: '0.1.0', revoked: false },
  ];
  // rolling30 points are stamped at local midnight of the day computed (UTC+7).
  const midnight = Math.floor((now + 7 * 3_600_000) / 86_400_000) * 86_400_000 - 7 * 3_600_000;
  const c = (code: Code, profile: string, criterion: string, verdict: ComplianceFixture['verdict'], extra: Partial<ComplianceFixture>): ComplianceFixture => ({
    ...tags(code), profile, period_kind: 'rolling30', period: 'rolling30', criterion, at: midnight, verdict, samples: 30, min_samples: 20, threshold: 0, reason: '', ...extra,
  });
  // Online-class readiness of LC-0002's one test, from the compliance engine's own functions: per-test points
  // (readinessToPoints) and the period's medians on its overall point (readinessSummary).
  const figures = { downMbps: 3, upMbps: 1, idleRttMs: 40, loadedRttMs: 120, jitterMs: 40, lossPct: 20 };
  const readinessTest = { at: at(125), device: dev['LC-0002'].deviceId, figures, readiness: readinessOf(getDefaultProfiles().readiness!, figures) };
  const compliance: ComplianceFixture[] = [
    c('LC-0001', 'default', 'overall', 'PASS', {}),
    c('LC-0001', 'default', 'download_median', 'PASS', { value: 30, mean: 30, threshold: 20 }),
    c('LC-0002', 'school-4g', 'overall', 'FAIL', { reason: 'median download 3 Mbit/s below 20 Mbit/s', readiness: readinessSummary([readinessTest]) }),
    c('LC-0002', 'school-4g', 'download_median', 'FAIL', { value: 3, mean: 3, threshold: 20, reason: 'median download 3 Mbit/s below 20 Mbit/s' }),
    c('LC-0002', 'school-4g', 'upload_median', 'FAIL', { value: 1, mean: 1, threshold: 5, reason: 'median upload 1 Mbit/s below 5 Mbit/s' }),
    c('LC-0003', 'default', 'overall', 'INSUFFICIENT', { samples: 1, reason: 'only 1 of 20 download tests' }),
  ];
  await writeCollectorDerivedFixture(writer, presence, compliance);
  const readinessRun = {
    sites: [{ site: 'LC-0002', ...(({ site: _s, link_type, ...t }) => ({ ...t, linkType: link_type }))(tags('LC-0002')), readiness: { perTest: [readinessTest] } }],
  } as unknown as ComplianceRun;
  await writer.write(readinessToPoints(readinessRun));
  // The continuous queries only run on the hour; compute the same rollups for the dataset's hours now.
  await backfillRollups(writer, now - 4 * 3_600_000, now + 3_600_000);
  return { now, devices: { 'LC-0001': dev['LC-0001'].deviceId, 'LC-0002': dev['LC-0002'].deviceId, 'LC-0003': dev['LC-0003'].deviceId }, revokedDevice: revoked.deviceId };
}
