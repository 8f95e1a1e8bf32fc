// The Grafana alert rules are meant for teams who alert from Grafana instead of the collector: they must
// raise and clear at the same levels, and be quiet at the same hours, as the collector's defaults.
import { describe, expect, it } from 'vitest';
import { loadAlertsConfig } from '../../collector/alerts/config.ts';
import { DEFAULT_ALERTS_FILE } from '../../collector/alerts/start.ts';
import { getDefaultCalendar } from '../../collector/school/calendar.ts';
import { getDefaultProfiles } from '../../collector/school/profiles.ts';
import { ALERT_DEFAULTS as D } from './alerts.ts';

const config = loadAlertsConfig(DEFAULT_ALERTS_FILE, {});
const params = (kind: string) => config.rules.find((r) => r.kind === kind)!.params as Record<string, number>;
const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

describe("Grafana alert defaults equal the collector's", () => {
  it('site silent, degraded throughput, latency and loss', () => {
    expect(D.silentAfterMinutes).toBe(params('site_silent').silentMinutes);
    expect(D.degradedN).toBe(params('degraded_throughput').lastN);
    expect(D.degradedM).toBe(params('degraded_throughput').raiseCount);
    const lat = params('latency_loss');
    expect([D.latencyRaiseMs, D.latencyClearMs, D.lossRaisePct, D.lossClearPct, D.overMinutes]).toEqual([lat.rttRaiseMs, lat.rttClearMs, lat.lossRaisePct, lat.lossClearPct, lat.forMinutes]);
  });

  it('fleet rules', () => {
    expect(D.queueOldestUnsentS).toBe(params('fleet_queue_backlog').raiseAbove);
    expect(D.clockOffsetMs).toBe(params('fleet_clock_offset').raiseAbove);
  });

  it("the throughput floor is the default profile's", () => {
    const criteria = getDefaultProfiles().resolve({ code: 'X' }).criteria;
    const floor = criteria.find((c) => c.metric === 'download_mbps' && c.statistic === 'share_at_least')?.floor;
    expect(D.throughputFloorMbps).toBe(floor);
  });

  it("school hours are the default calendar's (Monday to Friday, one span)", () => {
    const hours = getDefaultCalendar().file.hours;
    const spans = (day: keyof typeof hours) => (hours[day] ?? []).map((h) => `${hhmm(h.start)}-${hhmm(h.end)}`);
    for (const day of ['mon', 'tue', 'wed', 'thu', 'fri'] as const) expect(spans(day)).toEqual([`${D.schoolHours.start}-${D.schoolHours.end}`]);
    expect(spans('sat')).toEqual([]);
    expect(spans('sun')).toEqual([]);
  });
});
