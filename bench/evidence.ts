// Evidence (docs/evidence.md): what signing costs the agent, what verifying costs the collector, and how
// big the evidence log grows.
//   1. signing per result (canonical encoding + Ed25519), beside JSON.stringify of the same result (what the
//      upload already does) and beside the per-batch alternative (sha256 per result + one signature per
//      batch of 100), and the agent's CPU share at the default schedule;
//   2. verification per result in the collector (parse, canonical check, Ed25519 verify), and its effect on
//      ingest: signed vs unsigned batches through the same collector and InfluxDB, with InfluxDB's /write of
//      the same points as the reference, in the same run;
//   3. evidence log bytes per site per month at the default schedule, written by the collector's own EvidenceLog.
import { createHash, randomUUID, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resultToPoint, toLine } from '../collector/influx/points.ts';
import { EvidenceLog } from '../collector/evidence/log.ts';
import { localTime } from '../collector/school/zone.ts';
import { canonicalJson, generateDeviceKey, keyIdOf, privateKeyFromPem, publicKeyObject, signedPayload, signingMessage, signResult, verifyPayload } from '../protocol/evidence.ts';
import type { Result } from '../protocol/results.ts';
import { enrollmentCode, startBenchStack, timedJobs, treeCpuSeconds } from './harness.ts';

/** Results a day at the agent's default schedule (agent/songcheck-agent.sample.yaml). */
export const DEFAULT_DAY: Record<string, number> = { tcp: 288, http: 288, dns: 96, icmp: 96, agent_health: 288, uptime: 96, throughput: 8, device_facts: 1 };
const PER_DAY = Object.values(DEFAULT_DAY).reduce((a, b) => a + b, 0);

export interface EvidenceBench {
  signUs: number;
  stringifyUs: number;
  batchDigestUs: number;
  verifyUs: number;
  resultsPerDay: number;
  agentCpuPct: number;
  ingest: { results: number; directPerSecond: number; unsignedPerSecond: number; signedPerSecond: number; collectorCpuUs: { unsigned: number; signed: number } };
  logBytesPerSiteMonth: number;
  logEntriesPerSiteMonth: number;
}

function sample(probe: string, i: number, at: number): Result {
  const id = randomUUID();
  const lat = { sent: 5, received: 5, loss_pct: 0, rtt_min_ms: 30 + (i % 7), rtt_median_ms: 35.8 + (i % 11) / 10, rtt_mean_ms: 36.1, rtt_p95_ms: 44, rtt_max_ms: 44, jitter_ms: 3.2 };
  switch (probe) {
    case 'tcp': return { id, probe: 'tcp', target: 'songcheck.laocai.edu.vn:443', measuredAt: at, code: 'ok', fields: lat };
    case 'icmp': return { id, probe: 'icmp', target: 'songcheck.laocai.edu.vn', measuredAt: at, code: 'ok', fields: lat };
    case 'http': return { id, probe: 'http', target: 'https://songcheck.laocai.edu.vn/api/v1/ping', measuredAt: at, code: 'ok', fields: { dns_ms: 12.4, connect_ms: 38.2, tls_ms: 80.1, ttfb_ms: 120.5, total_ms: 122.9, status: 204, bytes: 0 } };
    case 'dns': return { id, probe: 'dns', target: 'moet.gov.vn', measuredAt: at, code: 'ok', fields: { resolve_ms: 41.7, answers: 2, server: '203.113.131.1' } };
    case 'agent_health': return { id, probe: 'agent_health', target: 'self', measuredAt: at, code: 'ok', fields: { queue_depth: 3, queue_bytes: 2400, evicted_total: 0, skipped_corrupt_total: 0, rejected_total: 0, append_failed_total: 0, upload_failures: 0, uptime_s: 86_400 + i, rss_mb: 58.2 } };
    case 'uptime': return { id, probe: 'uptime', target: 'link', measuredAt: at, code: 'ok', fields: { checks: 15, checks_up: 15, checks_collector_down: 0, checks_dns_down: 0, checks_link_down: 0, observed_s: 900, up_s: 900 } };
    case 'throughput': return { id, probe: 'throughput', method: 'ndt7', direction: i % 2 ? 'upload' : 'download', target: 'songcheck.laocai.edu.vn', measuredAt: at, code: 'ok', fields: { mbps: 23.4, bytes: 29_000_000, budget_bytes: 30_100_000, duration_ms: 10_000, warmup_ms: 2000, streams: 1, server: 'songcheck.laocai.edu.vn:443', stopped_early: true, stop_reason: 'stable', byte_cap: 60_000_000, idle_rtt_ms: 36, loaded_rtt_median_ms: 140, loaded_rtt_p95_ms: 210, loaded_rtt_samples: 40, rpm: 428 } };
    default: return { id, probe: 'device_facts', target: 'self', measuredAt: at, code: 'ok', fields: { agent_version: '0.2.0', node_version: 'v20.19.0', hostname: 'PC-THU-VIEN', os: 'Windows', os_version: '10.0.19045', arch: 'x64', cpu: 'Intel Celeron J4125', cpu_cores: 4, mem_total_mb: 3900, mem_free_mb: 1200, system_uptime_s: 9000 } };
  }
}

/** One day of results in the default schedule's proportions. */
function defaultDay(date: string): Result[] {
  const out: Result[] = [];
  for (const [probe, n] of Object.entries(DEFAULT_DAY)) {
    for (let i = 0; i < n; i++) out.push(sample(probe, i, localTime(date, Math.floor((i * 1440) / n), 'Asia/Ho_Chi_Minh') + i));
  }
  return out.sort((a, b) => a.measuredAt - b.measuredAt);
}

/**
 * Median CPU µs (user + system of this process) per item of `fn` over `items`, 5 runs after a warm-up. CPU
 * time, not wall time: the machine is shared, and a busy neighbour would otherwise read as a slow signature.
 */
function perItemUs<T>(items: T[], fn: (x: T) => unknown): number {
  for (const x of items.slice(0, 200)) fn(x);
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = process.cpuUsage();
    for (const x of items) fn(x);
    const d = process.cpuUsage(t);
    runs.push((d.user + d.system) / items.length);
  }
  runs.sort((a, b) => a - b);
  return Math.round(runs[2]! * 10) / 10;
}

export async function benchEvidence(): Promise<EvidenceBench> {
  const pair = generateDeviceKey();
  const key = privateKeyFromPem(pair.privateKeyPem);
  const pub = publicKeyObject(pair.publicKey);
  const keyId = keyIdOf(pair.publicKey);
  const day = [...defaultDay('2026-11-24'), ...defaultDay('2026-11-25'), ...defaultDay('2026-11-26')];

  // 1. the agent's side
  const stringifyUs = perItemUs(day, (r) => JSON.stringify(r));
  const signUs = perItemUs(day, (r) => signResult('dev_bench', r, key, keyId));
  const batchDigestUs = perItemUs(
    Array.from({ length: Math.floor(day.length / 100) }, (_, i) => day.slice(i * 100, i * 100 + 100)),
    (batch) => {
      const digests = batch.map((r) => createHash('sha256').update(signedPayload('dev_bench', r)).digest('hex'));
      return sign(null, signingMessage(digests.join('\n')), key);
    },
  ) / 100;
  const agentCpuPct = (signUs * PER_DAY) / 86_400 / 1e6 * 100;

  // 2. the collector's per-result check, as signatures.ts does it
  const envelopes = day.map((r) => signResult('dev_bench', r, key, keyId));
  const verifyUs = perItemUs(envelopes, (e) => {
    const payload = JSON.parse(e.signed) as unknown;
    return canonicalJson(payload) === e.signed && verifyPayload(e.signed, e.sig, pub);
  });

  // 3. the log: a month at the default schedule, signed, through the collector's EvidenceLog onto disk
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-bench-evidence-'));
  let logBytes = 0;
  let entries = 0;
  try {
    const log = new EvidenceLog(dir, 'Asia/Ho_Chi_Minh');
    for (let d = 1; d <= 30; d++) {
      const date = `2026-11-${String(d).padStart(2, '0')}`;
      const results = defaultDay(date);
      await log.append('LC-0001', results.map((r) => ({ at: r.measuredAt, device: 'dev_0123456789abcdef0123456789abcdef', ...signResult('dev_0123456789abcdef0123456789abcdef', r, key, keyId) })), localTime(date, 20 * 60, 'Asia/Ho_Chi_Minh'));
      entries += results.length;
    }
    for (const date of log.days('LC-0001')) logBytes += fs.statSync(log.dayFile('LC-0001', date)).size;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  return {
    signUs,
    stringifyUs,
    batchDigestUs: Math.round(batchDigestUs * 10) / 10,
    verifyUs,
    resultsPerDay: PER_DAY,
    agentCpuPct: Math.round(agentCpuPct * 10_000) / 10_000,
    ingest: await ingestSignedVsUnsigned(),
    logBytesPerSiteMonth: logBytes,
    logEntriesPerSiteMonth: entries,
  };
}

/** Signed and unsigned batches through one collector, and the same points straight to InfluxDB's /write. */
async function ingestSignedVsUnsigned(opts = { devices: 8, batchesPerDevice: 20, batchSize: 200, concurrency: 8 }) {
  const stack = await startBenchStack(['bench_evidence', 'bench_direct']);
  try {
    await stack.cli('sites', 'add', '--code', 'EVID-1', '--name', 'Evidence site', '--commune', 'Bản Xèo', '--operator', 'viettel', '--link-type', '4g');
    const code = enrollmentCode(await stack.cli('enroll-code', '--site', 'EVID-1', '--uses', String(opts.devices * 2)));
    const enroll = async (publicKey?: string) => {
      const res = await fetch(`${stack.collectorUrl}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, ...(publicKey ? { publicKey } : {}) }) });
      return (await res.json()) as { deviceId: string; token: string };
    };
    const t0 = Date.UTC(2026, 9, 1);
    let n = 0;
    const tcp = (): Result => ({ id: randomUUID(), probe: 'tcp', target: '203.113.131.1:443', measuredAt: t0 + n++, code: 'ok', fields: { sent: 5, received: 5, loss_pct: 0, rtt_min_ms: 31.2, rtt_median_ms: 35.8, rtt_mean_ms: 36.1, rtt_p95_ms: 44.0, rtt_max_ms: 44.0, jitter_ms: 3.2 } });
    const jobs = async (signed: boolean) => {
      const list: { token: string; body: string; direct: string }[] = [];
      for (let d = 0; d < opts.devices; d++) {
        const pair = signed ? generateDeviceKey() : undefined;
        const device = await enroll(pair?.publicKey);
        const k = pair ? privateKeyFromPem(pair.privateKeyPem) : undefined;
        for (let b = 0; b < opts.batchesPerDevice; b++) {
          const results = Array.from({ length: opts.batchSize }, tcp);
          const direct = results.map((r) => toLine(resultToPoint(r, { deviceId: device.deviceId, site: { code: 'EVID-1', commune: 'Bản Xèo', operator: 'viettel', linkType: '4g' } }))).join('\n');
          const items = k ? results.map((r) => signResult(device.deviceId, r, k, keyIdOf(pair!.publicKey))) : results;
          list.push({ token: device.token, body: JSON.stringify(signed ? { agentVersion: '0.2.0', results: items } : { agentVersion: '0.1.0', results: items }), direct });
        }
      }
      return list;
    };
    const unsigned = await jobs(false);
    const signed = await jobs(true);
    const post = (list: typeof unsigned) => (i: number) =>
      fetch(`${stack.collectorUrl}/api/v1/measurements`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${list[i]!.token}` }, body: list[i]!.body }).then(async (res) => {
        if (res.status !== 200) throw new Error(`collector ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      });
    const direct = await timedJobs(unsigned.length, opts.concurrency, (i) =>
      fetch(`${stack.influx.url}/write?db=bench_direct&precision=ms`, { method: 'POST', body: unsigned[i]!.direct }).then((res) => {
        if (res.status !== 204) throw new Error(`direct write ${res.status}`);
      }),
    );
    const cpu0 = treeCpuSeconds(stack.collector.pid!);
    const u = await timedJobs(unsigned.length, opts.concurrency, post(unsigned));
    const cpu1 = treeCpuSeconds(stack.collector.pid!);
    const s = await timedJobs(signed.length, opts.concurrency, post(signed));
    const cpu2 = treeCpuSeconds(stack.collector.pid!);
    const results = unsigned.length * opts.batchSize;
    const us = (a: number, b: number) => Math.round(((b - a) * 1e6) / results);
    return { results, directPerSecond: Math.round(results / direct), unsignedPerSecond: Math.round(results / u), signedPerSecond: Math.round(results / s), collectorCpuUs: { unsigned: us(cpu0, cpu1), signed: us(cpu1, cpu2) } };
  } finally {
    await stack.stop();
  }
}


export function evidenceReport(r: EvidenceBench): string {
  const mib = (b: number) => (b / 2 ** 20).toFixed(2);
  const ratio = (x: number) => (x / r.ingest.directPerSecond).toFixed(3);
  return [
    '## Evidence: signing, verification and the evidence log',
    '',
    `CPU time (user + system) measured in-process on this machine (medians of 5 runs over ${3 * r.resultsPerDay} results in the default schedule's proportions); the ingest rows are one collector process with its real InfluxDB, ${r.ingest.results} TCP results per path, batches of 200, wall-clock rates on the shared machine.`,
    '',
    '| what | figure | reference in the same run |',
    '| --- | ---: | --- |',
    `| agent: sign one result (canonical JSON + Ed25519) | ${r.signUs} µs | JSON.stringify of it: ${r.stringifyUs} µs |`,
    `| agent: per-batch alternative (sha256 per result + 1 signature per 100) | ${r.batchDigestUs} µs per result | |`,
    `| agent: CPU share at the default schedule (${r.resultsPerDay} results a day) | ${r.agentCpuPct} % of one core (${((r.signUs * r.resultsPerDay) / 1e6).toFixed(2)} s a day) | |`,
    `| collector: check one signed result (parse, canonical check, Ed25519 verify) | ${r.verifyUs} µs | |`,
    `| ingest, unsigned results (agent before 0.2.0, logged unsigned) | ${r.ingest.unsignedPerSecond} results/s (${ratio(r.ingest.unsignedPerSecond)} of direct); collector CPU ${r.ingest.collectorCpuUs.unsigned} µs per result | direct /write: ${r.ingest.directPerSecond} results/s |`,
    `| ingest, signed results (verified, logged) | ${r.ingest.signedPerSecond} results/s (${ratio(r.ingest.signedPerSecond)} of direct; ${(r.ingest.signedPerSecond / r.ingest.unsignedPerSecond).toFixed(3)} of unsigned); collector CPU ${r.ingest.collectorCpuUs.signed} µs per result | |`,
    `| evidence log per site per month (default schedule, signed) | ${mib(r.logBytesPerSiteMonth)} MiB, ${r.logEntriesPerSiteMonth} lines (${Math.round(r.logBytesPerSiteMonth / r.logEntriesPerSiteMonth)} B each) | a province of 2 000 sites: ${((r.logBytesPerSiteMonth * 2000) / 2 ** 30).toFixed(1)} GiB a month |`,
  ].join('\n');
}
