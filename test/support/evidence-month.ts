// A month of one site's results, day by day, shaped to give a chosen verdict under the default calendar
// and the 4g-school profile: 'pass' (good figures every day), 'fail' (slow downloads and an outage),
// 'insufficient' (good figures on the first 5 days only). Some results fall outside school hours, one
// throughput test per day goes to M-Lab (excluded), so the filters of the method are exercised too.
// Deterministic (seeded), so a failing comparison can be replayed.
import type { Result } from '../../protocol/results.ts';
import { addDays, localTime } from '../../collector/school/zone.ts';
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
      // Now and then the school's router takes most of the round trip: that run is left out.
      const lan = dayIndex % 5 === 0 && m === 10 * 60;
      results.push({
        id: id(), probe: 'tcp', target: 'collector:443', measuredAt: at(m), code: lost ? 'timeout' : 'ok',
        fields: lost
          ? { sent: 5, received: 0, loss_pct: 100 }
          : { sent: 5, received: 5, loss_pct: 0, rtt_median_ms: r3(lan ? 400 : 30 + rand() * 25), jitter_ms: r3(2 + rand() * 6), ...(lan ? { gateway_rtt_ms: 350, lan_bottleneck: true, lan_reason: 'the router alone took 350 of the 400 ms' } : {}) },
      });
    }
    // Throughput: 4 tests per direction in school hours, one in the evening, one against M-Lab.
    const slow = shape === 'fail';
    for (const m of [8 * 60 + 10, 10 * 60 + 10, 13 * 60 + 10, 15 * 60 + 10, 19 * 60, 9 * 60]) {
      const mlab = m === 9 * 60;
      for (const direction of ['download', 'upload'] as const) {
        const mbps = direction === 'download' ? (slow ? 4 + rand() * 9 : 22 + rand() * 30) : 6 + rand() * 6;
        // Some tests are flagged by the agent and left out of the verdict (the line busy, the school's Wi-Fi).
        const cross = dayIndex % 7 === 2 && m === 13 * 60 + 10 && direction === 'download';
        const lan = dayIndex % 7 === 4 && m === 15 * 60 + 10 && direction === 'upload';
        results.push({
          id: id(), probe: 'throughput', method: 'ndt7', direction, target: mlab ? 'mlab' : 'collector', measuredAt: at(m + (direction === 'upload' ? 1 : 0)), code: 'ok',
          fields: {
            mbps: r3(cross ? 1.5 : mbps), bytes: 20_000_000, budget_bytes: 21_000_000, duration_ms: 8000, warmup_ms: 1000, streams: 1, server: mlab ? 'ndt-mlab1-sin01' : 'collector:443', stopped_early: true, stop_reason: 'stable', byte_cap: 50_000_000,
            idle_rtt_ms: r3(30 + rand() * 10), loaded_rtt_median_ms: r3(60 + rand() * 150),
            ...(cross ? { cross_traffic: true, cross_traffic_mbps: 14 } : {}),
            ...(lan ? { lan_bottleneck: true, lan_reason: 'Wi-Fi link rate 6 Mbit/s at the time', lan_medium: 'wifi' as const, lan_link_mbps: 6 } : {}),
          },
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
