// The agent clock with injected device and monotonic clocks and a real data directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentClock, CLOCK_FILE, estimateOffset } from './clock.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A device clock `skew` ms off the true time `t`, with a monotonic clock that follows t. */
function fake(skew: number) {
  const dir = mkdtempSync(join(tmpdir(), 'songcheck-clock-'));
  dirs.push(dir);
  const s = { t: 1_800_000_000_000, skew, uptimeS: 1000, steps: [] as { fromMs: number; toMs: number }[], jumps: 0 };
  const make = () =>
    new AgentClock({ dataDir: dir, raw: () => s.t + s.skew, mono: () => s.t - 1_800_000_000_000, uptimeS: () => s.uptimeS, onStep: (x) => s.steps.push(x), onJump: () => s.jumps++ });
  /** One exchange with the given one-way delays (ms), the collector on true time. */
  const exchange = (clock: AgentClock, up: number, down: number) => {
    const t0 = clock.deviceNow();
    s.t += up;
    const t1 = s.t;
    const t2 = s.t;
    s.t += down;
    return clock.addExchange(t0, t1, t2, clock.deviceNow());
  };
  return { s, dir, make, exchange };
}

describe('agent clock', () => {
  it('estimates from the lowest-RTT half: one slow, asymmetric sample does not move the estimate', () => {
    expect(estimateOffset([{ offsetMs: 100, rttMs: 20 }, { offsetMs: 104, rttMs: 22 }, { offsetMs: 2000, rttMs: 4000 }, { offsetMs: 98, rttMs: 30 }])).toEqual({ offsetMs: 102, rttMs: 20 });
    const { make, exchange } = fake(-3_600_000);
    const clock = make();
    exchange(clock, 20, 20);
    exchange(clock, 3000, 50); // a congested uplink: this sample alone would be 1.5 s off
    exchange(clock, 25, 15);
    expect(Math.abs(clock.offsetMs! - 3_600_000)).toBeLessThanOrEqual(10);
  });

  it('corrects only beyond the threshold, reports a clock_step when the correction changes a lot, and persists the estimate', () => {
    const small = fake(500);
    const c1 = small.make();
    small.exchange(c1, 10, 10);
    expect(c1.corrected).toBe(false);
    expect(c1.now()).toBe(small.s.t + 500);
    expect(c1.healthFields()).toEqual({ clock_offset_ms: -500, clock_corrected: false });

    const big = fake(-3_600_000);
    const c2 = big.make();
    expect(c2.healthFields()).toEqual({});
    big.exchange(c2, 10, 10);
    expect(c2.corrected).toBe(true);
    expect(Math.abs(c2.now() - big.s.t)).toBeLessThanOrEqual(1);
    expect(big.s.steps).toEqual([{ fromMs: 0, toMs: 3_600_000 }]);

    // Same boot: the stored estimate applies at once.
    const again = big.make();
    expect(again.corrected).toBe(true);
    // After a reboot (uptime small again, boot time moved) it does not: the clock may have been set since.
    big.s.uptimeS = 5;
    expect(big.make().corrected).toBe(false);
    writeFileSync(join(big.dir, CLOCK_FILE), '{broken');
    expect(big.make().offsetMs).toBeUndefined();
  });

  it('drops the estimate when the device clock is stepped, and asks for a fresh exchange', () => {
    const { s, make, exchange } = fake(-3_600_000);
    const clock = make();
    exchange(clock, 10, 10);
    expect(clock.corrected).toBe(true);
    s.skew = 0; // NTP finally set the clock
    expect(clock.now()).toBe(s.t); // not corrected twice
    expect(clock.corrected).toBe(false);
    expect(s.jumps).toBe(1);
    expect(s.steps.at(-1)).toEqual({ fromMs: 3_600_000, toMs: 0 });
  });

});
