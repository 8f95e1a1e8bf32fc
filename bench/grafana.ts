// Grafana: the province overview's queries over 30 days for many sites (default 2 000), each run as Grafana
// sends it (macros and variables substituted, "All" sites expanded), against a real InfluxDB 1.x holding
// results converted by the collector's own code, with the hourly rollups computed by the collector's queries.
// References in the same run: the same aggregates on the raw measurements, and a trivial query.
// BENCH_GRAFANA_SITES, BENCH_GRAFANA_DAYS, BENCH_GRAFANA_LATENCY_MIN, BENCH_GRAFANA_UPTIME_MIN size the dataset.
import { randomUUID } from 'node:crypto';
import { backfillRollups, ensureRollups } from '../collector/grafana/rollups.ts';
import { siteInfoPoints } from '../collector/grafana/site-info.ts';
import { type DeviceIdentity, resultToPoint } from '../collector/influx/points.ts';
import { createInfluxWriter } from '../collector/influx/writer.ts';
import type { Result } from '../protocol/results.ts';
import { startInfluxd } from '../scripts/influxd-server.ts';
import { compliancePoint, presencePoint } from '../test/support/collector-derived-fixture.ts';
import { loadDashboards, resolveVariables, runTarget } from '../test/support/grafana-panels.ts';
import { influxQuery } from '../test/support/influx-query.ts';
import { median } from './harness.ts';

const int = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
const OPERATORS = ['viettel', 'vnpt', 'mobifone'];
const MIN = 60_000;
const RUNS = 5;

export interface GrafanaBench {
  sites: number;
  days: number;
  rawPoints: number;
  writeSeconds: number;
  rollupSeconds: number;
  rows: { query: string; ms: number; rawMs?: number }[];
  trivialMs: number;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return Math.round(median(times));
}

export async function benchGrafana(): Promise<GrafanaBench> {
  const sites = int('BENCH_GRAFANA_SITES', 2000);
  const days = int('BENCH_GRAFANA_DAYS', 30);
  const latencyEvery = int('BENCH_GRAFANA_LATENCY_MIN', 60) * MIN;
  const uptimeEvery = int('BENCH_GRAFANA_UPTIME_MIN', 60) * MIN;
  const db = 'bench_grafana';
  const influx = await startInfluxd({ databases: [db] });
  try {
    const writer = createInfluxWriter({ url: influx.url, database: db, timeoutMs: 120_000 });
    await ensureRollups(writer);
    const now = Date.now();
    const start = now - days * 86_400_000;
    const registry = Array.from({ length: sites }, (_, i) => ({
      code: `LC-${String(i + 1).padStart(4, '0')}`,
      name: `Điểm trường ${i + 1}`,
      commune: `Xã ${(i % 150) + 1}`,
      operator: OPERATORS[i % 3]!,
      linkType: '4g' as const,
      latitude: 21.8 + (i % 50) / 50,
      longitude: 103.5 + Math.floor(i / 50) / 40,
      groups: [`Huyện cũ ${(i % 9) + 1}`],
      createdAt: 0,
      updatedAt: 0,
    }));

    // Results converted by the collector's own resultToPoint, written straight to /write in batches.
    let rawPoints = 0;
    const t0 = performance.now();
    let batch: ReturnType<typeof resultToPoint>[] = [];
    const flush = async () => {
      if (batch.length) await writer.write(batch);
      rawPoints += batch.length;
      batch = [];
    };
    for (const [i, s] of registry.entries()) {
      const identity: DeviceIdentity = { deviceId: `dev_${String(i).padStart(32, '0')}`, site: { code: s.code, commune: s.commune, operator: s.operator, linkType: s.linkType } };
      const q = (i % 10) / 10;
      const push = (r: Omit<Result, 'id'>) => batch.push(resultToPoint({ ...r, id: randomUUID() } as Result, identity));
      for (let t = start + (i % 60) * 1000; t < now; t += latencyEvery) {
        push({ probe: 'tcp', target: 'collector:443', measuredAt: t, code: 'ok', fields: { sent: 10, received: 10 - (i % 3), loss_pct: (i % 3) * 10, rtt_median_ms: 40 + q * 100, rtt_p95_ms: 80 + q * 100, jitter_ms: 5 } } as Omit<Result, 'id'>);
      }
      for (let t = start + 9 * 3_600_000; t < now; t += 12 * 3_600_000) {
        for (const direction of ['download', 'upload'] as const) {
          push({ probe: 'throughput', method: 'http_multistream', direction, target: 'collector', measuredAt: t + (direction === 'upload' ? 1000 : 0), code: 'ok', fields: { mbps: 3 + q * 30, bytes: 1e7, budget_bytes: 2e7, duration_ms: 8000, warmup_ms: 1000, streams: 4, server: 'c', stopped_early: true, stop_reason: 'stable', byte_cap: 5e7, loaded_rtt_median_ms: 120 } } as Omit<Result, 'id'>);
        }
      }
      for (let t = Math.ceil(start / uptimeEvery) * uptimeEvery; t < now; t += uptimeEvery) {
        push({ probe: 'uptime', target: 'link', measuredAt: t, code: 'ok', fields: { checks: 15, checks_up: 15, checks_collector_down: 0, checks_dns_down: 0, checks_link_down: 0, observed_s: 900, up_s: 900 - (i % 4) * 100 } } as Omit<Result, 'id'>);
      }
      if (batch.length >= 10_000) await flush();
    }
    await flush();
    const writeSeconds = Math.round((performance.now() - t0) / 100) / 10;

    console.log(`[bench] grafana: ${rawPoints} raw points written in ${writeSeconds} s; backfilling rollups...`);
    const r0 = performance.now();
    await backfillRollups(writer, start, now);
    const rollupSeconds = Math.round((performance.now() - r0) / 100) / 10;
    console.log(`[bench] grafana: rollups in ${rollupSeconds} s; querying...`);
    // Written last, stamped now: "silent now" reads the last 15 minutes of presence.
    await writeDerived(writer, registry, Date.now());

    const province = loadDashboards().find((d) => d.uid === 'songcheck-province')!;
    const vars = await resolveVariables(influx.url, db, province);
    const rows: GrafanaBench['rows'] = [];
    for (const panel of province.panels) {
      for (const target of panel.targets) {
        const run = () => runTarget(influx.url, db, province, panel, target.query, vars, now);
        const { rows: result } = await run();
        if (result.length === 0) throw new Error(`${panel.title} ${target.refId} returned nothing`);
        const ms = await timed(run);
        // The same aggregate on the raw measurement, where the panel reads a rollup.
        const raw = rawEquivalent(target.query);
        const rawMs = raw ? await timed(() => runTarget(influx.url, db, province, panel, raw, vars, now)) : undefined;
        rows.push({ query: `${panel.title} / ${target.refId}`, ms, rawMs });
      }
    }
    const trivialMs = await timed(() => influxQuery(influx.url, db, `SELECT last("latitude") FROM "site_info" WHERE "site" = 'LC-0001'`));
    return { sites, days, rawPoints, writeSeconds, rollupSeconds, rows, trivialMs };
  } finally {
    await influx.stop();
  }
}

async function writeDerived(writer: ReturnType<typeof createInfluxWriter>, registry: (Parameters<typeof siteInfoPoints>[0][number] & { commune: string; operator: string; linkType: string })[], now: number): Promise<void> {
  const tags = (s: (typeof registry)[number]) => ({ site: s.code, commune: s.commune, operator: s.operator, link_type: s.linkType });
  const midnight = Math.floor(now / 86_400_000) * 86_400_000;
  const verdicts = ['PASS', 'FAIL', 'INSUFFICIENT'] as const;
  const derived = registry.flatMap((s, i) => [
    presencePoint({ ...tags(s), device: `dev_${i}`, at: now - MIN, connected: i % 20 !== 0, last_seen_age_s: i % 20 === 0 ? 7200 : 30, revoked: false }),
    compliancePoint({ ...tags(s), profile: 'default', period_kind: 'rolling30', period: 'rolling30', criterion: 'overall', at: midnight, verdict: verdicts[i % 3]!, samples: 30, min_samples: 20, threshold: 0, reason: i % 3 === 1 ? 'median download below 20 Mbit/s' : '' }),
  ]);
  for (let i = 0; i < derived.length; i += 10_000) await writer.write(derived.slice(i, i + 10_000));
  await writer.write(siteInfoPoints(registry, now));
}

/** The panel's query rewritten to read the raw measurement the rollup summarises (same figures, per result). */
function rawEquivalent(query: string): string | undefined {
  if (!query.includes('"rollup_1h"')) return undefined;
  return query
    .replace(/"rollup_1h"\."latency_1[hd]"/, '"latency"')
    .replace(/"rollup_1h"\."throughput_1[hd]"/, '"throughput"')
    .replace(/"rollup_1h"\."uptime_1[hd]"/, '"uptime"')
    .replace(/"mbps_median"/g, '"mbps"');
}

export function grafanaReport(r: GrafanaBench): string {
  const slow = r.rows.filter((x) => x.ms >= 1000);
  return [
    '## Grafana: province overview queries over 30 days',
    '',
    `${r.sites} sites, ${r.days} days, ${r.rawPoints} raw points (latency every ${process.env.BENCH_GRAFANA_LATENCY_MIN ?? 60} min, 2 throughput tests a day, uptime every ${process.env.BENCH_GRAFANA_UPTIME_MIN ?? 60} min per site), InfluxDB 1.6 on loopback; written in ${r.writeSeconds} s, rollups backfilled in ${r.rollupSeconds} s. Each query as Grafana sends it ("All" sites expanded to ${r.sites} codes), median of ${RUNS} runs.`,
    '',
    '| panel / query | ms | same on raw data (reference), ms | raw / panel |',
    '| --- | ---: | ---: | ---: |',
    ...r.rows.map((x) => `| ${x.query} | ${x.ms} | ${x.rawMs ?? ''} | ${x.rawMs ? (x.rawMs / Math.max(1, x.ms)).toFixed(1) : ''} |`),
    `| trivial query (reference): last site_info of one site | ${r.trivialMs} | | |`,
    '',
    `Goal: each under 1 s: ${slow.length === 0 ? 'met' : `NOT met (${slow.map((x) => x.query).join(', ')})`}.`,
    `The collector's hourly catch-up recomputes 48 h of rollups: at this density about ${Math.round((r.rollupSeconds * 48) / (r.days * 24))} s of InfluxDB work per hour (backfill time × 48 h / ${r.days * 24} h).`,
  ].join('\n');
}
