// A month of one site's results, day by day, shaped to give a chosen verdict under the default calendar
// and the 4g-school profile: 'pass' (good figures every day), 'fail' (slow downloads and an outage),
// 'insufficient' (good figures on the first 5 days only). Some results fall outside school hours, one
// throughput test per day goes to M-Lab (excluded), so the filters of the method are exercised too.
// Deterministic (seeded), so a failing comparison can be replayed.
import type { Result } from '../../protocol/results.ts';
import { addDays, localTime } from '../../collector/compliance/zone.ts';
import { seededRandom } from '../../scripts/seeded-random.ts';

export type MonthShape = 'pass' | 'fail' | 'insufficient';

const TZ = 'Asia/Ho_Chi_Minh';

const rng = seededRandom;

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function monthDays(month: string): string[] {
  const days: string[] = [];
  for (let d = `${month}-01`; d.startsWith(month); d = addDays(d, 1)) days.push(d);
  return days;
}

/** The results measured on each day of `month` (YYYY-MM) at site `site`, for the shape asked. */
export function monthResults(site: string, month: string, shape: MonthShape, seed = 1): Map<string, Result[]> {
  const rand = rng(seed);
  const out = new Map<string, Result[]>();
  monthDays(month).forEach((date, dayIndex) => {
    if (shape === 'insufficient' && dayIndex >= 5) return;
    const at = (minute: number) => localTime(date, minute, TZ) + Math.floor(rand() * 1000);
    const results: Result[] = [];
    let n = 0;
    const id = () => `${site}-${date}-${String(++n).padStart(4, '0')}`;
    // TCP connect every 20 minutes, 06:00-18:40 (30 of them in school hours).
    for (let m = 6 * 60; m <= 18 * 60 + 40; m += 20) {
      const lost = rand() < 0.002;
      results.push({
        id: id(), probe: 'tcp', target: 'collector:443', measuredAt: at(m), code: lost ? 'timeout' : 'ok',
        fields: lost ? { sent: 5, received: 0, loss_pct: 100 } : { sent: 5, received: 5, loss_pct: 0, rtt_median_ms: r3(30 + rand() * 25), jitter_ms: r3(2 + rand() * 6) },
      });
    }
    // Throughput: 4 tests per direction in school hours, one in the evening, one against M-Lab.
    const slow = shape === 'fail';
    for (const m of [8 * 60 + 10, 10 * 60 + 10, 13 * 60 + 10, 15 * 60 + 10, 19 * 60, 9 * 60]) {
      const mlab = m === 9 * 60;
      for (const direction of ['download', 'upload'] as const) {
        const mbps = direction === 'download' ? (slow ? 4 + rand() * 9 : 22 + rand() * 30) : 6 + rand() * 6;
        results.push({
          id: id(), probe: 'throughput', method: 'ndt7', direction, target: mlab ? 'mlab' : 'collector', measuredAt: at(m + (direction === 'upload' ? 1 : 0)), code: 'ok',
          fields: { mbps: r3(mbps), bytes: 20_000_000, budget_bytes: 21_000_000, duration_ms: 8000, warmup_ms: 1000, streams: 1, server: mlab ? 'ndt-mlab1-sin01' : 'collector:443', stopped_early: true, stop_reason: 'stable', byte_cap: 50_000_000 },
        });
      }
    }
    // Uptime slots every 15 minutes, 06:00-17:45; a failing site loses its link 09:00-10:30 on the 10th.
    const outageDay = shape === 'fail' && dayIndex === 9;
    for (let m = 6 * 60; m < 18 * 60; m += 15) {
      const down = outageDay && m >= 9 * 60 && m < 10 * 60 + 30;
      results.push({
        id: id(), probe: 'uptime', target: 'link', measuredAt: localTime(date, m, TZ), code: 'ok',
        fields: { checks: 15, checks_up: down ? 0 : 15, checks_collector_down: 0, checks_dns_down: 0, checks_link_down: down ? 15 : 0, observed_s: 900, up_s: down ? 0 : 900 },
      });
    }
    if (outageDay) {
      results.push({
        id: id(), probe: 'outage', kind: 'link_down', target: 'link', measuredAt: localTime(date, 9 * 60, TZ), code: 'ok',
        fields: { end_at: localTime(date, 10 * 60 + 30, TZ), duration_s: 5400, checks_failed: 90, ended_by: 'recovered' },
      });
    }
    out.set(date, results);
  });
  return out;
}
