// The demo province for `npm run demo` (and the console's browser test): a dozen school sites in three
// communes, imported through the admin API's CSV import, each with a device enrolled through the real
// enrollment route, and 30 days of plausible history sent by those devices through the collector's own
// measurement route — so every figure the console shows went through ingest, InfluxDB and the
// compliance engine like real data. Every site is labelled demo (group "demo", "(demo)" in its name).
//
// What the sites show (the default 4G school profile):
//   DEMO-P01..P05  pass (P04 with one short outage that stays inside the uptime target)
//   DEMO-P06       fails: slow download (median ≈ 9 Mbit/s)
//   DEMO-P07       fails: high latency (RTT median ≈ 170 ms)
//   DEMO-P08       fails: slow upload (≈ 2 Mbit/s)
//   DEMO-P09       fails: outages (a day and a half without a link, plus short drops)
//   DEMO-P10       silent: its device stopped reporting four days ago
//   DEMO-P11       insufficient evidence: installed five days ago
//   DEMO-P12       fails: packet loss (≈ 3 %)
import { randomUUID } from 'node:crypto';
import { openCollectorStore } from '../collector/database.ts';
import { seededRandom } from './seeded-random.ts';

export const DEMO_GROUP = 'demo';
const DAY = 86_400_000;
const VN = 7 * 3_600_000;

interface Scenario {
  code: string;
  name: string;
  commune: string;
  operator: string;
  lat: number;
  lon: number;
  students: number;
  down: number;
  up: number;
  rtt: number;
  loss: number;
  /** Outages as [days ago, local hour, minutes]. */
  outages?: [number, number, number][];
  /** History ends this many days ago (the device then went silent). */
  silentDays?: number;
  /** History starts this many days ago (default 30). */
  sinceDays?: number;
}

export const DEMO_SITES: Scenario[] = [
  { code: 'DEMO-P01', name: 'Trường PTDTBT TH Bản Xèo (demo)', commune: 'Bản Xèo', operator: 'viettel', lat: 22.5861, lon: 103.7602, students: 310, down: 34, up: 11, rtt: 42, loss: 0 },
  { code: 'DEMO-P02', name: 'Điểm trường Pho Cạ (demo)', commune: 'Bản Xèo', operator: 'vnpt', lat: 22.5712, lon: 103.7821, students: 45, down: 27, up: 8, rtt: 55, loss: 0 },
  { code: 'DEMO-P03', name: 'Trường THCS Bản Xèo (demo)', commune: 'Bản Xèo', operator: 'mobifone', lat: 22.5958, lon: 103.7433, students: 280, down: 31, up: 9, rtt: 48, loss: 0 },
  { code: 'DEMO-P04', name: 'Trường TH Y Tý (demo)', commune: 'Y Tý', operator: 'viettel', lat: 22.6441, lon: 103.6281, students: 390, down: 29, up: 8.5, rtt: 61, loss: 0, outages: [[9, 10, 40]] },
  { code: 'DEMO-P05', name: 'Điểm trường Lao Chải (demo)', commune: 'Y Tý', operator: 'vnpt', lat: 22.6688, lon: 103.6012, students: 38, down: 24, up: 7, rtt: 66, loss: 0 },
  { code: 'DEMO-P06', name: 'Điểm trường Mò Phú Chải (demo)', commune: 'Y Tý', operator: 'mobifone', lat: 22.6239, lon: 103.6533, students: 52, down: 9, up: 6, rtt: 58, loss: 0 },
  { code: 'DEMO-P07', name: 'Điểm trường Sín Chải (demo)', commune: 'Y Tý', operator: 'viettel', lat: 22.6572, lon: 103.6745, students: 29, down: 26, up: 7.5, rtt: 172, loss: 0 },
  { code: 'DEMO-P08', name: 'Trường TH Bát Xát (demo)', commune: 'Bát Xát', operator: 'vnpt', lat: 22.5368, lon: 103.8891, students: 520, down: 28, up: 2, rtt: 40, loss: 0 },
  { code: 'DEMO-P09', name: 'Điểm trường Trung Lèng Hồ (demo)', commune: 'Bát Xát', operator: 'mobifone', lat: 22.5102, lon: 103.8177, students: 61, down: 25, up: 7, rtt: 64, loss: 0, outages: [[12, 7, 2160], [20, 9, 90], [5, 14, 120]] },
  { code: 'DEMO-P10', name: 'Điểm trường Nậm Pung (demo)', commune: 'Bát Xát', operator: 'viettel', lat: 22.4933, lon: 103.8421, students: 33, down: 22, up: 6.5, rtt: 70, loss: 0, silentDays: 4 },
  { code: 'DEMO-P11', name: 'Trường THCS Bát Xát (demo)', commune: 'Bát Xát', operator: 'viettel', lat: 22.5301, lon: 103.9012, students: 410, down: 33, up: 10, rtt: 39, loss: 0, sinceDays: 5 },
  { code: 'DEMO-P12', name: 'Điểm trường Ngải Thầu (demo)', commune: 'Y Tý', operator: 'vnpt', lat: 22.6011, lon: 103.6922, students: 40, down: 23, up: 6, rtt: 75, loss: 3 },
];


const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** Every result of one site's history, in the agent's wire format (protocol/results.ts). */
export function siteHistory(s: Scenario, index: number, now: number): Record<string, unknown>[] {
  const r = seededRandom(index + 17);
  const out: Record<string, unknown>[] = [];
  let n = 0;
  const id = () => `${s.code}-${(n++).toString(36).padStart(6, '0')}`;
  const end = now - (s.silentDays ?? 0) * DAY - 30 * 60_000;
  const start = now - (s.sinceDays ?? 30) * DAY;
  const outages = (s.outages ?? []).map(([ago, hour, minutes]) => {
    const localMidnight = Math.floor((now - ago * DAY + VN) / DAY) * DAY - VN;
    const from = localMidnight + hour * 3_600_000;
    return { from, to: from + minutes * 60_000 };
  });
  const down = (t: number) => outages.some((o) => t >= o.from && t < o.to);
  const slot = 15 * 60_000;
  for (let t = Math.ceil(start / slot) * slot; t < end; t += slot) {
    const isDown = down(t);
    // A short drop now and then, as on any 4G link.
    const blips = isDown ? 15 : r() < 0.004 ? 1 + Math.floor(r() * 3) : 0;
    out.push({
      id: id(), probe: 'uptime', target: 'link', measuredAt: t, code: 'ok',
      fields: { checks: 15, checks_up: 15 - blips, checks_collector_down: 0, checks_dns_down: 0, checks_link_down: blips, observed_s: 900, up_s: (900 * (15 - blips)) / 15 },
    });
    if (isDown) continue;
    const loss = s.loss > 0 ? (r() < s.loss / 10 ? 10 * Math.ceil(r() * 2) : 0) + (r() < 0.3 ? s.loss / 3 : 0) : r() < 0.01 ? 10 : 0;
    const rtt = s.rtt * (0.8 + r() * 0.5) + (r() < 0.03 ? s.rtt : 0);
    const at = t + Math.floor(r() * 600_000);
    out.push({
      id: id(), probe: 'tcp', target: 'collector.demo:443', measuredAt: at, code: loss > 0 ? 'partial' : 'ok',
      fields: { sent: 10, received: round(10 - loss / 10, 0), loss_pct: round(loss, 2), rtt_median_ms: round(rtt), jitter_ms: round(3 + r() * s.rtt * 0.12) },
    });
  }
  for (const o of outages) {
    if (o.from >= end || o.from < start) continue;
    out.push({
      id: id(), probe: 'outage', kind: 'link_down', target: 'link', measuredAt: o.from, code: 'ok',
      fields: { end_at: o.to, duration_s: (o.to - o.from) / 1000, checks_failed: Math.round((o.to - o.from) / 60_000), ended_by: 'recovered' },
    });
  }
  // Throughput at 08:30, 10:30 and 14:30 local on weekdays; the rate swings ±40 % around the site's level.
  for (let day = Math.floor((start + VN) / DAY) * DAY - VN; day < end; day += DAY) {
    const weekday = new Date(day + VN).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    for (const hour of [8.5, 10.5, 14.5]) {
      const at = day + hour * 3_600_000 + Math.floor(r() * 900_000);
      if (at < start || at >= end || down(at)) continue;
      for (const [direction, level] of [['download', s.down], ['upload', s.up]] as const) {
        const mbps = round(level * (0.6 + r() * 0.8));
        out.push({
          id: id(), probe: 'throughput', method: 'ndt7', direction, target: 'http://collector.demo', measuredAt: at + (direction === 'upload' ? 12_000 : 0), code: 'ok',
          fields: { mbps, bytes: Math.round(mbps * 1e6), budget_bytes: Math.round(mbps * 1.05e6), duration_ms: 8000, warmup_ms: 1000, streams: 1, server: 'collector.demo', stopped_early: true, stop_reason: 'stable', byte_cap: 40_000_000 },
        });
      }
    }
  }
  // The agent's own health every 6 hours; the silent site's last report shows results piling up.
  for (let t = Math.ceil(start / (6 * 3_600_000)) * 6 * 3_600_000; t < end; t += 6 * 3_600_000) {
    const last = s.silentDays !== undefined && t + 6 * 3_600_000 >= end;
    out.push({
      id: id(), probe: 'agent_health', target: 'self', measuredAt: t, code: 'ok',
      fields: { queue_depth: last ? 340 : Math.floor(r() * 3), queue_bytes: last ? 170_000 : 900, ...(last ? { oldest_unsent_age_s: 7200 } : {}), evicted_total: 0, skipped_corrupt_total: 0, rejected_total: 0, append_failed_total: 0, upload_failures: last ? 12 : 0, uptime_s: 3600 + r() * 86_400, rss_mb: round(38 + r() * 6, 1) },
    });
  }
  return out.sort((a, b) => (a.measuredAt as number) - (b.measuredAt as number));
}

function csv(): string {
  const header = 'code,name,commune,province,operator,link_type,latitude,longitude,students,groups,notes';
  const rows = DEMO_SITES.map((s) => [s.code, s.name, s.commune, 'Lào Cai', s.operator, '4g', s.lat, s.lon, s.students, `${DEMO_GROUP};${s.commune}`, 'demo data: generated by scripts/demo-province.ts'].join(','));
  return `${header}\n${rows.join('\n')}\n`;
}

export interface DemoProvinceOptions {
  collectorUrl: string;
  adminToken: string;
  /** The collector's data directory (the silent site's last sign of life is set there). */
  dataDir: string;
  log?: (line: string) => void;
  now?: number;
}

async function call(url: string, init: RequestInit & { token: string }, what: string): Promise<unknown> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const auth: Record<string, string> = init.token ? { authorization: `Bearer ${init.token}` } : {};
    const res = await fetch(url, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
    if (res.status === 429 || res.status === 503) {
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
      continue;
    }
    const body = await res.text();
    if (!res.ok) throw new Error(`${what}: ${res.status} ${body.slice(0, 300)}`);
    return body ? JSON.parse(body) : undefined;
  }
  throw new Error(`${what}: still refused after 20 attempts`);
}

/** Loads the demo province unless it is already there. Returns the number of results sent. */
export async function loadDemoProvince(o: DemoProvinceOptions): Promise<{ loaded: boolean; results: number }> {
  const log = o.log ?? (() => {});
  const api = `${o.collectorUrl}/api/v1`;
  const admin = { token: o.adminToken };
  const listed = (await call(`${api}/admin/sites?group=${DEMO_GROUP}`, admin, 'list demo sites')) as { sites: { code: string }[] };
  if (listed.sites.some((s) => s.code === DEMO_SITES[0]!.code)) return { loaded: false, results: 0 };
  const now = o.now ?? Date.now();
  await call(`${api}/admin/sites/import`, { ...admin, method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv() }, 'import demo sites');
  log(`imported ${DEMO_SITES.length} demo sites (group "${DEMO_GROUP}")`);
  let results = 0;
  const silent: [deviceId: string, days: number][] = [];
  for (const [i, s] of DEMO_SITES.entries()) {
    const created = (await call(`${api}/admin/sites/${s.code}/enrollment-codes`, { ...admin, method: 'POST' }, `enrollment code for ${s.code}`)) as { code: string };
    const enrolled = (await call(`${api}/enroll`, {
      token: '', method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: created.code, hostname: `PC-${s.code.slice(-3)}`, platform: i % 3 === 0 ? 'linux' : 'win32', agentVersion: '0.1.0', fingerprint: randomUUID() }),
    }, `enroll ${s.code}`)) as { deviceId: string; token: string };
    const history = siteHistory(s, i, now);
    for (let b = 0; b < history.length; b += 500) {
      await call(`${api}/measurements`, { token: enrolled.token, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentVersion: '0.1.0', results: history.slice(b, b + 500) }) }, `history of ${s.code}`);
    }
    results += history.length;
    if (s.silentDays !== undefined) silent.push([enrolled.deviceId, s.silentDays]);
  }
  // Demo fixture: the collector stamps "last seen" with its own clock when results arrive, so a device
  // whose history was sent just now would look alive. Set it back to when that history ends, as if the
  // school's computer had been switched off then.
  // Through the collector's store, so it lands where the collector keeps its state (SQLite, or PostgreSQL).
  const db = await openCollectorStore(o.dataDir);
  try {
    for (const [id, days] of silent) await db.run('UPDATE devices SET last_seen_at = ? WHERE id = ?', now - days * DAY - 30 * 60_000, id);
  } finally {
    await db.close();
  }
  log(`sent ${results} results of 30 days through the collector's ingest`);
  return { loaded: true, results };
}

/** The nightly verdict run, once: the periods the schedule recomputes (yesterday, its week and month, rolling30). */
export async function runNightlyVerdicts(o: { collectorUrl: string; adminToken: string; periods: string[] }): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const p of o.periods) {
    const r = (await call(`${o.collectorUrl}/api/v1/compliance/run?period=${encodeURIComponent(p)}`, { token: o.adminToken, method: 'POST' }, `verdicts for ${p}`)) as { counts: Record<string, number> };
    out[p] = r.counts;
  }
  return out;
}
