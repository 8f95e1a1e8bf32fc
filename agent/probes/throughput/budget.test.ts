import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataBudget } from './budget.ts';
import { drawDay, localParts, ThroughputPlan, zonedTime } from './plan.ts';

const TZ = 'Asia/Ho_Chi_Minh';
const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'songcheck-budget-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('data budget', () => {
  const options = { monthlyBytes: 100e6, pauseBelowBytes: 10e6, perTestMaxBytes: 20e6, timeZone: TZ };

  it('caps tests at the maximum, shrinks them near the floor and pauses below it', () => {
    let now = Date.UTC(2025, 8, 10, 3);
    const b = new DataBudget(dir(), options, () => now);
    expect(b.nextCap()).toEqual({ capBytes: 20e6 });
    b.settle(b.reserve(20e6), 70e6); // 30 MB left, 20 above the floor: a quarter of it
    expect(b.nextCap()).toEqual({ capBytes: 5e6 });
    b.settle(b.reserve(5e6), 19e6); // 11 MB left: 1 MB above the floor, a quarter is under 1 MB
    expect(b.nextCap()).toMatchObject({ paused: expect.stringMatching(/2025-09/) });
    now = Date.UTC(2025, 9, 1, 3); // a new month in Viet Nam
    expect(b.state()).toEqual({ month: '2025-10', usedBytes: 0, leftBytes: 100e6 });
  });

  it('counts a reservation left by a crash as used', () => {
    const d = dir();
    const now = () => Date.UTC(2025, 8, 10, 3);
    new DataBudget(d, options, now).reserve(15e6);
    const again = new DataBudget(d, options, now);
    expect(again.state().usedBytes).toBe(15e6);
    expect(JSON.parse(readFileSync(again.file, 'utf8')).month).toBe('2025-09');
  });
});

describe('school-hours plan', () => {
  const plan = { testsPerDay: 4, start: '07:30', end: '16:30', weekdays: [1, 2, 3, 4, 5], timeZone: TZ };

  it('draws the day’s tests inside school hours, local time, on weekdays only', () => {
    const monday = Date.UTC(2025, 8, 8, 1); // 08:00 in Viet Nam
    const slots = drawDay(monday, plan);
    expect(slots).toHaveLength(4);
    for (const s of slots) {
      const p = localParts(s, TZ);
      expect(p.hour * 60 + p.minute).toBeGreaterThanOrEqual(7 * 60 + 30);
      expect(p.hour * 60 + p.minute).toBeLessThan(16 * 60 + 30);
    }
    expect(drawDay(Date.UTC(2025, 8, 7, 3), plan)).toEqual([]); // Sunday
    expect(zonedTime(2025, 9, 8, '07:30', TZ)).toBe(Date.UTC(2025, 8, 8, 0, 30));
  });

  it('says yes once per slot, and not for slots already past at start', () => {
    let now = Date.UTC(2025, 8, 8, 5); // 12:00 local
    let n = 0;
    const p = new ThroughputPlan({ ...plan, testsPerDay: 2 }, () => now, () => (n++ === 0 ? 0.1 : 0.9));
    expect(p.due()).toBe(false); // 08:24 is past, 15:36 is still to come
    expect(p.pending()).toHaveLength(1);
    now = p.pending()[0]! + 1000;
    expect(p.due()).toBe(true);
    expect(p.due()).toBe(false);
  });
});
