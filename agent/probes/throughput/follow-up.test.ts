// The plan's follow-ups with a fake clock: a test postponed on a busy line comes back later the same day (at
// most maxPostpones times, the last try runs whatever the line), and a download under the floor gets one
// confirmation within the hour, never a confirmation of a confirmation. Also the busy-line rules.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ThroughputOptions } from '../../../protocol/probe-options/throughput.ts';
import type { Result } from '../../../protocol/results.ts';
import { BASELINE_MIN_SAMPLES, busyVerdict, crossTrafficMbps, isCrossTraffic, RttBaseline } from './busy-line.ts';
import { FollowUpStore, STALE_FOLLOW_UP_MS } from './follow-up-store.ts';
import { followUps, runSlot } from './follow-up.ts';
import { ThroughputPlan } from './plan.ts';

const options = ThroughputOptions.parse({ schedule: { testsPerDay: 1, start: '08:00', end: '16:30', weekdays: [1, 2, 3, 4, 5], timeZone: 'Asia/Ho_Chi_Minh' } });
const followUp = { busyLine: options.busyLine, confirm: options.confirm };
const MON_0900 = Date.parse('2026-11-16T08:51:00+07:00');

function tp(direction: 'download' | 'upload', code: Result['code'], fields: Record<string, unknown>, id = `r-${direction}-000001`): Result {
  return {
    id,
    probe: 'throughput',
    method: 'ndt7',
    direction,
    target: 'http://c',
    measuredAt: MON_0900,
    code,
    fields: { bytes: 0, budget_bytes: 0, duration_ms: 0, warmup_ms: 0, streams: 1, server: 'c', stopped_early: false, stop_reason: 'not_started', byte_cap: 0, ...fields },
  } as Result;
}

/** A plan whose one slot of the day is due now (random 0.1 of 08:00-16:30 is 08:51). */
function planAt(clock: { t: number }) {
  const plan = new ThroughputPlan(options.schedule, () => clock.t, () => 0.1, followUp);
  expect(plan.due()).toBe(true);
  return plan;
}

describe('follow-ups', () => {
  it('retries a test postponed on a busy line every 15 minutes, and the last try runs and is flagged', () => {
    const clock = { t: MON_0900 };
    const plan = planAt(clock);
    expect(plan.runContext()).toEqual({ kind: 'scheduled', postponed: 0, lastTry: false });
    for (let n = 1; n <= 3; n++) {
      plan.after([tp('download', 'unavailable', { busy: true }), tp('upload', 'unavailable', { busy: true })]);
      expect(plan.pendingSlots()).toEqual([{ at: clock.t + 15 * 60_000, kind: 'retry', postponed: n }]);
      clock.t += 15 * 60_000;
      expect(plan.due()).toBe(true);
      expect(plan.runContext()).toEqual({ kind: 'retry', postponed: n, lastTry: n === 3 });
    }
    // The last try found the line busy again but ran (busy, with bytes): nothing more is planned.
    plan.after([tp('download', 'ok', { busy: true, cross_traffic: true, mbps: 12, bytes: 9_000_000 })]);
    expect(plan.pendingSlots()).toEqual([]);
  });

  it('does not retry past the end of the school day', () => {
    const clock = { t: Date.parse('2026-11-16T16:25:00+07:00') }; // the slot: 16:24:54
    const plan = new ThroughputPlan(options.schedule, () => clock.t, () => 0.99, followUp);
    expect(plan.due()).toBe(true);
    expect(plan.runContext()?.lastTry).toBe(true);
    plan.after([tp('download', 'unavailable', { busy: true })]);
    expect(plan.pendingSlots()).toEqual([]);
  });

  it('confirms a download under the floor once, within the hour', () => {
    const clock = { t: MON_0900 };
    const plan = planAt(clock);
    plan.after([tp('download', 'ok', { mbps: 3.2, bytes: 4e6 }, 'bad-test-0001'), tp('upload', 'ok', { mbps: 2, bytes: 2e6 })]);
    const [c] = plan.pendingSlots();
    expect(c).toMatchObject({ kind: 'confirmation', confirms: 'bad-test-0001', confirmsMbps: 3.2, postponed: 0 });
    expect(c!.at - clock.t).toBe(14 * 60_000); // 10 + 0.1 × (50 - 10) minutes
    clock.t = c!.at;
    expect(plan.due()).toBe(true);
    expect(plan.runContext()).toEqual({ kind: 'confirmation', postponed: 0, lastTry: false, confirms: 'bad-test-0001', confirmsMbps: 3.2 });
    plan.after([tp('download', 'ok', { mbps: 2.9, bytes: 4e6, confirmation_of: 'bad-test-0001' })]);
    expect(plan.pendingSlots()).toEqual([]);
    // A good test asks nothing.
    const quiet = planAt({ t: MON_0900 });
    quiet.after([tp('download', 'ok', { mbps: 25, bytes: 2e7 })]);
    expect(quiet.pendingSlots()).toEqual([]);
  });

  it('keeps a confirmation within the hour of its test, on a busy line and past the school day alike', () => {
    const now = MON_0900;
    const bad = [tp('download', 'ok', { mbps: 3, bytes: 4e6 }, 'bad-test-0001')];
    const busy = [tp('download', 'unavailable', { busy: true })];
    const slot = { at: now, kind: 'scheduled' as const, postponed: 0 };
    const dayEnd = Date.parse('2026-11-16T16:30:00+07:00');
    // Drawn late in its window (49.6 min): a busy line would push it past the hour, so this is its last try
    // (given up when busy: conditions.test.ts), and nothing follows it.
    const [late] = followUps(bad, slot, followUp, now, dayEnd, () => 0.99);
    expect(late!.deadline).toBe(now + 3_600_000);
    expect(runSlot(late!, followUp, dayEnd).lastTry).toBe(true);
    expect(followUps(busy, late!, followUp, late!.at, dayEnd)).toEqual([]);
    // Drawn early (10 min): postponed on a busy line, still within the hour.
    const [early] = followUps(bad, slot, followUp, now, dayEnd, () => 0);
    expect(runSlot(early!, followUp, dayEnd).lastTry).toBe(false);
    expect(followUps(busy, early!, followUp, early!.at, dayEnd)).toEqual([{ ...early!, at: early!.at + 15 * 60_000, postponed: 1 }]);
    // The school day ended 5 minutes after the test: the confirmation's own hour still holds.
    expect(runSlot(early!, followUp, now + 5 * 60_000).lastTry).toBe(false);
  });

  it('keeps a pending confirmation across a restart (a school PC shut down and on again), not a stale one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'songcheck-follow-ups-'));
    try {
      const clock = { t: MON_0900 };
      const plan = new ThroughputPlan(options.schedule, () => clock.t, () => 0.1, followUp, new FollowUpStore(dir));
      expect(plan.due()).toBe(true);
      plan.after([tp('download', 'ok', { mbps: 3.2, bytes: 4e6 }, 'bad-test-0001')]);
      const [c] = plan.pendingSlots();
      // The agent stops; it starts again 10 minutes later, before the confirmation is due.
      clock.t += 10 * 60_000;
      const again = new ThroughputPlan(options.schedule, () => clock.t, () => 0.1, followUp, new FollowUpStore(dir));
      expect(again.due()).toBe(false);
      clock.t = c!.at;
      expect(again.due()).toBe(true);
      expect(again.runContext()).toMatchObject({ kind: 'confirmation', confirms: 'bad-test-0001', confirmsMbps: 3.2 });
      // Taken: a third start does not run it again.
      expect(new ThroughputPlan(options.schedule, () => clock.t, () => 0.1, followUp, new FollowUpStore(dir)).pendingSlots()).toEqual([]);
      expect(new FollowUpStore(dir).load(clock.t)).toEqual([]);
      // A confirmation due more than 30 minutes before the agent starts again is dropped.
      const due = clock.t + 3_600_000;
      new FollowUpStore(dir).save([{ at: due, kind: 'confirmation', postponed: 0, confirms: 'bad-test-0002', confirmsMbps: 2 }]);
      expect(new FollowUpStore(dir).load(due + STALE_FOLLOW_UP_MS - 1)).toHaveLength(1);
      expect(new FollowUpStore(dir).load(due + STALE_FOLLOW_UP_MS + 1)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('busy-line rules', () => {
  const t = options.busyLine;
  it('calls a line busy on RTT inflation past both thresholds, or on this computer’s own traffic', () => {
    expect(busyVerdict({ idleRttMs: 100, baselineMs: 40, ifaceMbps: 0.1 }, t)).toEqual({ busy: true, inflationMs: 60, reasons: ["idle RTT 100 ms against the site's 40 ms baseline"] });
    // 25 ms over a 40 ms baseline is under 30 ms; 40 ms over a 200 ms satellite baseline is under 50 %.
    expect(busyVerdict({ idleRttMs: 65, baselineMs: 40 }, t).busy).toBe(false);
    expect(busyVerdict({ idleRttMs: 240, baselineMs: 200 }, t).busy).toBe(false);
    expect(busyVerdict({ idleRttMs: 40, ifaceMbps: 6.2 }, t)).toEqual({ busy: true, reasons: ['this computer moved 6.2 Mbit/s just before'] });
  });

  it('counts interface bytes beyond the test’s own (plus headers) as cross traffic', () => {
    // 10 s, the test moved 10 MB (10.5 MB with headers), the interface 15.5 MB: 5 MB beside it = 4 Mbit/s.
    expect(crossTrafficMbps(15_500_000, 10_000_000, 10_000)).toBe(4);
    expect(crossTrafficMbps(10_200_000, 10_000_000, 10_000)).toBe(0);
    expect(isCrossTraffic(4, 8, t)).toBe(true);
    expect(isCrossTraffic(0.4, 8, t)).toBe(false);
    expect(isCrossTraffic(4, 100, t)).toBe(false);
  });

  it('keeps a two-week baseline on disk: the 25th percentile once there are enough samples', () => {
    const dir = mkdtempSync(join(tmpdir(), 'songcheck-baseline-'));
    try {
      const b = new RttBaseline(dir);
      b.add(MON_0900, [40, 42]);
      expect(b.value()).toBeUndefined();
      new RttBaseline(dir).add(MON_0900 + 1000, [38, 300, 45, 41, 39, 400]);
      expect(BASELINE_MIN_SAMPLES).toBeLessThanOrEqual(8);
      expect(new RttBaseline(dir).value()).toBe(39);
      // Two weeks later the old samples are gone.
      b.add(MON_0900 + 15 * 86_400_000, [80]);
      expect(b.value()).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
