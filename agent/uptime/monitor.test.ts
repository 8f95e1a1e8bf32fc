// The monitor with fake clocks (wall, monotonic, system uptime) and a real state file in a temp directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Result, type CheckState } from '../../protocol/results.ts';
import type { Clocks } from './lifecycle.ts';
import { createUptimeMonitor } from './monitor.ts';
import { SLOT_MS } from './slots.ts';

const T0 = Date.UTC(2026, 10, 24, 3, 0, 0);
const INTERVAL = 60_000;

class FakeClocks implements Clocks {
  wallMs = T0 + 5_000;
  monoMs = 1_000;
  sysS = 10_000;
  wall = () => this.wallMs;
  mono = () => this.monoMs;
  systemUptimeS = () => this.sysS;
  /** Time passing with the device awake. */
  run(ms: number) {
    this.wallMs += ms;
    this.monoMs += ms;
    this.sysS += ms / 1000;
  }
  /** The device asleep: the monotonic clock stands still. */
  sleep(ms: number) {
    this.wallMs += ms;
    this.sysS += ms / 1000;
  }
}

let dir: string;
let clocks: FakeClocks;
let recorded: Result[];
let next: CheckState;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'uptime-monitor-'));
  clocks = new FakeClocks();
  recorded = [];
  next = 'up';
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const signal = new AbortController().signal;
function monitor() {
  return createUptimeMonitor({
    stateFile: join(dir, 'uptime-state.json'),
    intervalMs: INTERVAL,
    deviceTag: 'dev1',
    clocks,
    check: async () => ({ state: next, collector: next === 'up', outside: next !== 'link_down', dns: next !== 'dns_down' }),
    record: (r) => recorded.push(Result.parse(r)),
  });
}
const of = (probe: string) => recorded.filter((r) => r.probe === probe);
const events = () => recorded.flatMap((r) => (r.probe === 'agent_event' ? [r.event] : []));

async function checks(m: ReturnType<typeof monitor>, states: CheckState[]) {
  for (const s of states) {
    next = s;
    await m.tick(signal);
    clocks.run(INTERVAL);
  }
}

describe('uptime monitor (fake clocks)', () => {
  it('fills a slot with checks and writes one point when the next slot starts', async () => {
    const m = monitor();
    m.begin();
    await checks(m, Array(15).fill('up'));
    expect(of('uptime')).toEqual([]);
    await checks(m, ['up']); // 15 min 5 s: the first check of the next slot
    const [slot] = of('uptime');
    expect(slot).toMatchObject({ measuredAt: T0, fields: { checks: 15, checks_up: 15, up_s: 895, observed_s: 895 } });
    expect(events()).toEqual(['start']);
  });

  it('records an outage with its start at the first failed check and end at the first good one', async () => {
    const m = monitor();
    m.begin();
    await checks(m, ['up', 'link_down', 'link_down', 'link_down', 'up']);
    const [o] = of('outage');
    expect(o).toMatchObject({ kind: 'link_down', measuredAt: T0 + 5_000 + INTERVAL, fields: { end_at: T0 + 5_000 + 4 * INTERVAL, checks_failed: 3, ended_by: 'recovered' } });
    expect(m.state.outage).toBeUndefined();
  });

  it('a restart mid-slot continues the slot: one point for the slot, sent again with the same id', async () => {
    const a = monitor();
    a.begin();
    await checks(a, ['up', 'dns_down', 'up']);
    a.end();
    const partial = of('uptime');
    expect(partial).toHaveLength(1);
    expect(partial[0]!.fields).toMatchObject({ checks: 3, checks_dns_down: 1 });
    clocks.run(30_000);
    const b = monitor();
    b.begin();
    await checks(b, Array(13).fill('up')); // 12 in this slot, the 13th opens the next
    const slots = of('uptime');
    expect(slots).toHaveLength(2);
    expect(slots[1]!.id).toBe(slots[0]!.id);
    expect(slots[1]!.fields).toMatchObject({ checks: 15, checks_up: 14, checks_dns_down: 1 });
    // The 30 s the agent was not running are not observed.
    expect((slots[1]!.fields as { observed_s: number }).observed_s).toBeLessThan(900 - 30);
    expect(events()).toEqual(['start', 'stop', 'start']);
  });

  it('a start without a clean stop records unclean_stop from the last check, and ends the outage as device_off', async () => {
    const a = monitor();
    a.begin();
    await checks(a, ['up', 'link_down', 'link_down']);
    const lastAlive = a.state.lastAliveAt!;
    // Killed: no end(). The device is off for an hour and boots.
    clocks.sleep(3_600_000);
    clocks.sysS = 90;
    const b = monitor();
    b.begin();
    expect(events()).toEqual(['start', 'unclean_stop', 'start']);
    const unclean = recorded.find((r) => r.probe === 'agent_event' && r.event === 'unclean_stop')!;
    expect(unclean.fields).toMatchObject({ from_at: lastAlive, to_at: clocks.wallMs, booted: true, system_uptime_s: 90 });
    const [o] = of('outage');
    expect(o).toMatchObject({ kind: 'link_down', fields: { end_at: lastAlive, checks_failed: 2, ended_by: 'device_off' } });
    // The slot of an hour ago is closed at start.
    expect(of('uptime').map((s) => s.measuredAt)).toEqual([T0]);
  });

  it('an outage continues across a quick crash and restart', async () => {
    const a = monitor();
    a.begin();
    await checks(a, ['link_down', 'link_down']);
    clocks.run(5_000);
    const b = monitor();
    b.begin();
    await checks(b, ['link_down', 'up']);
    const [o] = of('outage');
    expect(of('outage')).toHaveLength(1);
    expect(o).toMatchObject({ measuredAt: T0 + 5_000, fields: { checks_failed: 3, ended_by: 'recovered' } });
  });

  it('a clean stop during an outage ends it as agent_stopped at the last failed check', async () => {
    const a = monitor();
    a.begin();
    await checks(a, ['up', 'collector_down', 'collector_down']);
    a.end();
    expect(of('outage')[0]).toMatchObject({ kind: 'collector_down', fields: { end_at: T0 + 5_000 + 2 * INTERVAL, ended_by: 'agent_stopped' } });
    expect(a.state.running).toBe(false);
  });

  it('a sleep is recorded from the clocks, ends the outage as device_off and is not counted as observed', async () => {
    const m = monitor();
    m.begin();
    await checks(m, ['up', 'link_down']);
    const before = clocks.wallMs - INTERVAL;
    clocks.sleep(2 * SLOT_MS);
    await checks(m, ['up']);
    const sleep = recorded.find((r) => r.probe === 'agent_event' && r.event === 'sleep')!;
    expect(sleep.fields).toMatchObject({ from_at: before, gap_s: (2 * SLOT_MS + INTERVAL) / 1000 });
    expect(of('outage')[0]).toMatchObject({ fields: { ended_by: 'device_off', checks_failed: 1 } });
    const first = of('uptime')[0]!;
    expect(first.fields).toMatchObject({ checks: 2, observed_s: 60 });
  });

  it('a long silence between checks without a proven sleep ends the outage as device_off, records no sleep', async () => {
    const m = monitor();
    m.begin();
    await checks(m, ['link_down', 'link_down']);
    clocks.run(10 * INTERVAL); // every clock advanced: not a sleep, but no checks either
    await checks(m, ['link_down']);
    expect(events()).toEqual(['start']);
    expect(of('outage')[0]).toMatchObject({ measuredAt: T0 + 5_000, fields: { checks_failed: 2, ended_by: 'device_off' } });
    expect(m.state.outage).toMatchObject({ checks: 1 });
  });

  it('an unreadable state file is replaced, and the monitor still runs', async () => {
    writeFileSync(join(dir, 'uptime-state.json'), '{"version":1,"running":tr');
    const warnings: string[] = [];
    const m = createUptimeMonitor({
      stateFile: join(dir, 'uptime-state.json'),
      intervalMs: INTERVAL,
      deviceTag: 'dev1',
      clocks,
      check: async () => ({ state: 'up', collector: true, outside: true, dns: true }),
      record: (r) => recorded.push(r),
      log: { warn: (m) => warnings.push(m) },
    });
    m.begin();
    await m.tick(signal);
    expect(warnings.join()).toMatch(/could not be read/);
    expect(events()).toEqual(['start']);
    expect(m.state.slot?.checks).toBe(1);
  });

  it('start() and stop() run the loop with the real timers', async () => {
    let n = 0;
    const m = createUptimeMonitor({
      stateFile: join(dir, 'uptime-state.json'),
      intervalMs: 20,
      deviceTag: 'dev1',
      check: async () => (n++, { state: 'up', collector: true, outside: true, dns: true }),
      record: (r) => recorded.push(r),
    });
    m.start();
    for (let i = 0; i < 100 && n < 3; i++) await new Promise((r) => setTimeout(r, 20));
    await m.stop();
    expect(n).toBeGreaterThanOrEqual(3);
    expect(events()).toEqual(['start', 'stop']);
  });
});
