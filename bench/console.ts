// Console: each page's server time and transfer size for a province — BENCH_CONSOLE_SITES sites (default
// 2 000), each with one enrolled device and BENCH_CONSOLE_DAYS days (30) of results (TCP-connect and uptime
// every BENCH_CONSOLE_EVERY_MIN minutes, default 30; three throughput tests a school day), converted by the
// collector's own resultToPoint into a real InfluxDB 1.x; rolling30 verdicts computed and stored by the
// compliance engine; 100 firing alerts. Pages are requested through the collector's app (createApp) with a
// signed-in admin session, median of 5 runs. Reference in the same run: the admin API's JSON list of the
// same sites (GET /api/v1/admin/sites), the cheapest request that reads the whole registry.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DEFAULT_ALERTS_FILE } from '../collector/alerts/start.ts';
import { loadAlertsConfig } from '../collector/alerts/config.ts';
import { AlertService } from '../collector/alerts/service.ts';
import { createApp } from '../collector/app.ts';
import { getDefaultCalendar } from '../collector/school/calendar.ts';
import { ComplianceEngine } from '../collector/compliance/engine.ts';
import { getDefaultProfiles } from '../collector/school/profiles.ts';
import { openCollectorStore } from '../collector/database.ts';
import { type DeviceIdentity, resultToPoint } from '../collector/influx/points.ts';
import { RetryableWriteError } from '../collector/influx/errors.ts';
import { createInfluxWriter } from '../collector/influx/writer.ts';
import { createLogger } from '../collector/logger.ts';
import { Registry } from '../collector/registry/registry.ts';
import type { Result } from '../protocol/results.ts';
import { startInfluxd } from '../scripts/influxd-server.ts';
import { median } from './harness.ts';
import { strongToken } from '../test/support/secrets.ts';

const int = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
const RUNS = 5;
const MIN = 60_000;
const ADMIN = strongToken();
const COMMUNES = ['Bản Xèo', 'Y Tý', 'Bát Xát', 'Sa Pa', 'Bắc Hà', 'Mường Khương', 'Si Ma Cai', 'Văn Bàn'];
const OPERATORS = ['viettel', 'vnpt', 'mobifone'];

export interface ConsoleBench {
  sites: number;
  days: number;
  points: number;
  writeSeconds: number;
  verdictSeconds: number;
  counts: Record<string, number>;
  reference: { firstMs: number; ms: number; bytes: number };
  /** firstMs: the first request (the console reads a period's stored verdicts then, and reuses them for a minute); ms: median of the next 5. */
  pages: { page: string; firstMs: number; ms: number; bytes: number }[];
  loadAverage: number;
  assets: { name: string; bytes: number }[];
}

export async function benchConsole(): Promise<ConsoleBench> {
  const sites = int('BENCH_CONSOLE_SITES', 2000);
  const days = int('BENCH_CONSOLE_DAYS', 30);
  const every = int('BENCH_CONSOLE_EVERY_MIN', 30) * MIN;
  const db = 'bench_console';
  const dir = mkdtempSync(join(tmpdir(), 'songcheck-bench-console-'));
  const influx = await startInfluxd({ databases: [db] });
  const registry = await Registry.open(dir);
  try {
    const writer = createInfluxWriter({ url: influx.url, database: db, timeoutMs: 300_000 });
    const now = Date.now();
    const start = now - days * 86_400_000;
    const identities: DeviceIdentity[] = await registry.transaction(async (registry) => {
      const out: DeviceIdentity[] = [];
      for (let i = 0; i < sites; i++) {
        const code = `LC-${String(i + 1).padStart(4, '0')}`;
        const commune = COMMUNES[i % COMMUNES.length]!;
        const operator = OPERATORS[i % 3]!;
        await registry.addSite({ code, name: `Điểm trường số ${i + 1}`, commune, operator, linkType: '4g', latitude: 21.8 + (i % 50) / 50, longitude: 103.5 + Math.floor(i / 50) / 40, groups: [`Huyện cũ ${(i % 9) + 1}`] });
        const { deviceId } = await registry.enroll((await registry.createEnrollmentCode(code)).code, { hostname: `PC-${i}`, agentVersion: '0.1.0' });
        out.push({ deviceId, site: { code, commune, operator, linkType: '4g' } });
      }
      return out;
    });

    let points = 0;
    const t0 = performance.now();
    let batch: ReturnType<typeof resultToPoint>[] = [];
    // InfluxDB on a loaded two-core machine sometimes answers a big write "timeout"; the same points are
    // written again (a retried write overwrites itself), a few times, as an agent would.
    const flush = async () => {
      for (let attempt = 1; batch.length > 0; attempt++) {
        try {
          await writer.write(batch);
          break;
        } catch (error) {
          if (!(error instanceof RetryableWriteError) || attempt >= 5) throw error;
          await new Promise((r) => setTimeout(r, 2000 * attempt));
        }
      }
      points += batch.length;
      batch = [];
    };
    for (const [i, identity] of identities.entries()) {
      const q = (i % 10) / 10;
      const push = (r: Omit<Result, 'id'>) => batch.push(resultToPoint({ ...r, id: randomUUID() } as Result, identity));
      for (let t = Math.ceil(start / every) * every + (i % 60) * 1000; t < now; t += every) {
        push({ probe: 'tcp', target: 'collector:443', measuredAt: t, code: 'ok', fields: { sent: 10, received: 10, loss_pct: 0, rtt_median_ms: 40 + q * 100, jitter_ms: 5 } } as Omit<Result, 'id'>);
        push({ probe: 'uptime', target: 'link', measuredAt: t, code: 'ok', fields: { checks: 30, checks_up: 30 - (i % 4), checks_collector_down: 0, checks_dns_down: 0, checks_link_down: i % 4, observed_s: 1800, up_s: 1800 } } as Omit<Result, 'id'>);
      }
      for (let d = start; d < now; d += 86_400_000) {
        for (const hour of [1.5, 3.5, 7.5]) {
          for (const direction of ['download', 'upload'] as const) {
            push({ probe: 'throughput', method: 'ndt7', direction, target: 'collector', measuredAt: Math.floor(d / 86_400_000) * 86_400_000 + hour * 3_600_000 + (direction === 'upload' ? 1000 : 0), code: 'ok', fields: { mbps: (direction === 'download' ? 8 : 2) + q * 30, bytes: 1e7, budget_bytes: 2e7, duration_ms: 8000, warmup_ms: 1000, streams: 1, server: 'c', stopped_early: true, stop_reason: 'stable', byte_cap: 5e7 } } as Omit<Result, 'id'>);
          }
        }
      }
      if (batch.length >= 10_000) await flush();
    }
    await flush();
    const writeSeconds = Math.round((performance.now() - t0) / 100) / 10;
    console.log(`[bench] console: ${points} points for ${sites} sites written in ${writeSeconds} s; computing rolling30 verdicts...`);

    const calendar = getDefaultCalendar();
    const profiles = getDefaultProfiles();
    const engine = new ComplianceEngine({ writer, registry, calendar, profiles });
    const v0 = performance.now();
    const run = await engine.run(engine.period('rolling30'));
    const verdictSeconds = Math.round((performance.now() - v0) / 100) / 10;

    const alerts = new AlertService({ config: loadAlertsConfig(DEFAULT_ALERTS_FILE), store: await openCollectorStore(dir), registry, query: (q) => writer.query(q) });
    for (const id of identities.slice(0, 100)) await alerts.store.putState({ ruleId: 'site-silent', siteCode: id.site.code, state: 'firing', since: now - 3_600_000, firedAt: now - 3_600_000, clearStreak: 0, summary: 'last heard 60 min ago' });

    const app = createApp({ registry, writer, logger: createLogger('silent'), version: 'bench', adminToken: ADMIN, alerts, compliance: { engine, profiles }, console: { settings: { sessionHours: 1 } } });
    const login = await app.request('/console/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${ADMIN}` });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const measure = async (path: string, headers: Record<string, string>) => {
      const times: number[] = [];
      let bytes = 0;
      let firstMs = 0;
      for (let i = 0; i <= RUNS; i++) {
        const t = performance.now();
        const res = await app.request(path, { headers });
        const body = new Uint8Array(await res.arrayBuffer());
        if (i === 0) firstMs = performance.now() - t;
        else times.push(performance.now() - t);
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${new TextDecoder().decode(body).slice(0, 300)}`);
        bytes = body.byteLength;
      }
      return { firstMs: Math.round(firstMs * 10) / 10, ms: Math.round(median(times) * 10) / 10, bytes };
    };
    const reference = await measure('/api/v1/admin/sites', { authorization: `Bearer ${ADMIN}` });
    const pages: ConsoleBench['pages'] = [];
    for (const page of ['/console', '/console/sites', '/console/sites?verdict=FAIL&commune=Y%20T%C3%BD', '/console/sites/LC-0001', '/console/devices', '/console/enrollment', '/console/alerts', '/console/import', '/console/reports']) {
      pages.push({ page, ...(await measure(page, { cookie })) });
    }
    const assets: ConsoleBench['assets'] = [];
    for (const name of ['console.css', 'console.js', 'leaflet.js', 'leaflet.css', 'uPlot.iife.min.js', 'uPlot.min.css']) {
      assets.push({ name, bytes: (await (await app.request(`/console/assets/${name}`)).arrayBuffer()).byteLength });
    }
    await alerts.close();
    return { sites, days, points, writeSeconds, verdictSeconds, counts: run.counts, reference, pages, assets, loadAverage: Math.round(loadavg()[0]! * 10) / 10 };
  } finally {
    await registry.close();
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function consoleReport(r: ConsoleBench): string {
  const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  return [
    '## Console: server time and transfer size per page',
    '',
    `${r.sites} sites with one device each, ${r.days} days of results (${r.points} points, written in ${r.writeSeconds} s), rolling30 verdicts stored by the compliance engine in ${r.verdictSeconds} s (${Object.entries(r.counts).map(([k, v]) => `${v} ${k}`).join(', ')}), 100 firing alerts. Each page requested through the collector's app with a signed-in admin session, in the order listed: the first request, then the median of 5 more. Transfer size is the uncompressed HTML. Load average at the end: ${r.loadAverage}.`,
    '',
    '| page | first request (ms) | server time, median (ms) | ratio to reference | size |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| reference: \`GET /api/v1/admin/sites\` (JSON, same ${r.sites} sites) | ${r.reference.firstMs} | ${r.reference.ms} | 1 | ${kib(r.reference.bytes)} |`,
    ...r.pages.map((p) => `| \`${p.page}\` | ${p.firstMs} | ${p.ms} | ${(p.ms / r.reference.ms).toFixed(1)} | ${kib(p.bytes)} |`),
    '',
    `Browser files, fetched once and then revalidated by ETag: ${r.assets.map((a) => `${a.name} ${kib(a.bytes)}`).join(', ')}.`,
    '',
    `Goal: every page < 1 s (first request included) and < 1 MiB for ${r.sites} sites: ${r.pages.every((p) => p.firstMs < 1000 && p.ms < 1000 && p.bytes < 2 ** 20) ? 'met' : 'NOT met'}.`,
  ].join('\n');
}
