import { describe, expect, it } from 'vitest';
import { AgentEventResult } from '../../protocol/results.ts';
import { detectSleep, startEvents } from './lifecycle.ts';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);

describe('agent lifecycle events', () => {
  it('a start after a clean stop records start only, with the gap and whether the device booted', () => {
    const ev = startEvents({ running: false, lastAliveAt: T0 }, T0 + 3_600_000, 120, 'd');
    expect(ev.map((e) => AgentEventResult.parse(e).event)).toEqual(['start']);
    expect(ev[0]!.fields).toMatchObject({ from_at: T0, to_at: T0 + 3_600_000, gap_s: 3600, system_uptime_s: 120, booted: true });
  });

  it('a start that finds no clean stop records unclean_stop from the last alive moment', () => {
    const ev = startEvents({ running: true, lastAliveAt: T0 }, T0 + 30_000, 86_400, 'd');
    expect(ev.map((e) => AgentEventResult.parse(e).event)).toEqual(['unclean_stop', 'start']);
    expect(ev[0]).toMatchObject({ measuredAt: T0, fields: { from_at: T0, to_at: T0 + 30_000, gap_s: 30, booted: false } });
    // Same last-alive moment, same id: a start repeated after a crash overwrites the point.
    expect(startEvents({ running: true, lastAliveAt: T0 }, T0 + 99_000, 1, 'd')[0]!.id).toBe(ev[0]!.id);
  });

  it('a first start has no gap', () => {
    const ev = startEvents({ running: false }, T0, 50, 'd');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.fields).toEqual({ system_uptime_s: 50 });
  });

  it('tells a sleep (wall and system uptime jump, monotonic does not) from a clock step and from normal ticks', () => {
    const prev = { wall: T0, mono: 1_000, sys: 500 };
    expect(detectSleep(prev, { wall: T0 + 60_000, mono: 61_000, sys: 560 }, 180_000)).toBeUndefined();
    expect(detectSleep(prev, { wall: T0 + 3_600_000, mono: 61_000, sys: 4_100 }, 180_000)).toEqual({ fromAt: T0, toAt: T0 + 3_600_000, gapS: 3600 });
    // The wall clock stepped an hour but the system uptime did not: a clock step, not a sleep.
    expect(detectSleep(prev, { wall: T0 + 3_600_000, mono: 61_000, sys: 560 }, 180_000)).toBeUndefined();
  });
});
