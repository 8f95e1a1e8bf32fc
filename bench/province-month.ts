// A province's month of results at the agent's default schedule, as line protocol: TCP-connect every 5 min
// and an uptime slot every 15 min around the clock, 4 throughput tests per direction on school days.
// Deterministic (seeded per site), so a cached copy (bench/dataset-cache.ts) is the same data.
import { seededRandom } from '../scripts/seeded-random.ts';
import { LineWriter, tagValue } from './line-writer.ts';

export const MONTH_START = Date.parse('2026-11-01T00:00:00+07:00');
export const DAYS = 30;

export const code = (i: number) => `LC-${String(i).padStart(4, '0')}`;
const COMMUNES = ['Bản Xèo', 'Bát Xát', 'Y Tý', 'Sa Pa', 'Bắc Hà', 'Mường Khương', 'Si Ma Cai', 'Văn Bàn'];
const OPERATORS = ['viettel', 'vnpt', 'mobifone'];

export function siteTags(i: number) {
  return { site: code(i), device: `dev_${i.toString(16).padStart(32, '0')}`, commune: COMMUNES[i % COMMUNES.length]!, operator: OPERATORS[i % OPERATORS.length]!, link_type: '4g' };
}

/** Every point of one site's month as line protocol, as the agent's default schedule would make them. */
function* siteLines(i: number): Generator<string> {
  const r = seededRandom(i + 1);
  const t = siteTags(i);
  // Tags sorted by key, as InfluxDB keys its series.
  const siteTagText = `commune=${tagValue(t.commune)},device=${t.device},link_type=${t.link_type},operator=${t.operator},site=${t.site}`;
  const quality = 0.5 + r() * 1.5; // some sites are good, some are not
  const ms = (x: number) => Math.round(x * 1000) / 1000;
  let id = 0;
  for (let d = 0; d < DAYS; d++) {
    const day = MONTH_START + d * 86_400_000;
    const weekday = new Date(day + 7 * 3_600_000).getUTCDay();
    for (let m = 0; m < 1440; m += 5) {
      const rtt = 30 + r() * 60 / quality;
      const loss = r() < 0.03 ? 10 : 0;
      const jitter = Math.round(r() * 20000) / 1000;
      const at = day + m * 60_000 + Math.floor(r() * 120_000);
      yield `latency,code=${loss ? 'partial' : 'ok'},${siteTagText},method=tcp_connect,target=collector.example.vn:443 sent=10,received=${10 - loss / 10},loss_pct=${loss},rtt_median_ms=${ms(rtt)},jitter_ms=${jitter},result_id="r${i}-${id++}" ${at}`;
    }
    for (let m = 0; m < 1440; m += 15) {
      const checks = 15;
      const up = r() < 0.995 ? 15 : Math.floor(r() * 15);
      yield `uptime,code=ok,${siteTagText},method=connectivity_check,target=link checks=${checks},checks_up=${up},checks_collector_down=0,checks_dns_down=0,checks_link_down=${checks - up},observed_s=900,up_s=${(900 * up) / checks},result_id="r${i}-${id++}" ${day + m * 60_000}`;
    }
    if (weekday === 0 || weekday === 6) continue;
    for (let k = 0; k < 4; k++) {
      const at = day + (7.5 + k * 2.25) * 3_600_000 + Math.floor(r() * 600_000);
      for (const direction of ['download', 'upload'] as const) {
        const mbps = (direction === 'download' ? 22 : 6) * quality * (0.5 + r());
        yield `throughput,code=ok,${siteTagText},direction=${direction},method=ndt7,target=http://collector.example.vn mbps=${ms(mbps)},bytes=20000000,duration_ms=8000,result_id="r${i}-${id++}" ${at + (direction === 'upload' ? 15_000 : 0)}`;
      }
    }
  }
}

/** Writes sites [from, to) as line protocol in large batches. */
export async function writeSites(url: string, database: string, from: number, to: number): Promise<number> {
  const out = new LineWriter({ url, database });
  for (let i = from; i < to; i++) for (const line of siteLines(i)) await out.add(line);
  return out.flush();
}

