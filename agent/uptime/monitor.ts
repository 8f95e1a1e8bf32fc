// The uptime monitor: runs a connectivity check every interval and turns checks into evidence (15-minute
// `uptime` slots, `outage` intervals, `agent_event`s), all through record() and therefore the durable queue.
// Every clock is injected so slots, outages, restarts and sleeps are unit-tested with fake time.
import type { CheckState, Result } from '../../protocol/results.ts';
import { sleep as abortableSleep } from '../platform/abortable-sleep.ts';
import type { CheckOutcome } from './check.ts';
import { detectSleep, eventResult, readTick, startEvents, systemClocks, type Clocks, type Tick } from './lifecycle.ts';
import { endWithoutRecovery, trackCheck } from './outages.ts';
import { addCheck, addSpan, countsAsUp, slotResult, slotStartOf, type Covered } from './slots.ts';
import { freshState, loadUptimeState, saveUptimeState, type UptimeState } from './state-file.ts';

export interface UptimeMonitorDeps {
  stateFile: string;
  intervalMs: number;
  /** A short device-specific suffix for the deterministic result ids. */
  deviceTag: string;
  check(signal: AbortSignal): Promise<CheckOutcome>;
  record(result: Result): void;
  clocks?: Clocks;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  log?: { warn(msg: string): void; debug?(obj: object, msg: string): void };
}

/** Time between two checks is bridged (counted as observed) only up to this many intervals. */
const BRIDGE_INTERVALS = 2.5;
/** The wall clock must run ahead of the monotonic clock by this many intervals to call it a sleep. */
const SLEEP_INTERVALS = 3;
/** Within this, wall and monotonic time agree (timer lateness, NTP slewing). */
const CLOCK_AGREEMENT_MS = 5_000;

export function createUptimeMonitor(deps: UptimeMonitorDeps) {
  const clocks = deps.clocks ?? systemClocks;
  const wait = deps.sleep ?? abortableSleep;
  const warn = (m: string): void => deps.log?.warn(m);
  const tag = deps.deviceTag;
  let state: UptimeState = freshState();
  let prev: { tick: Tick; state: CheckState } | undefined;
  const stopLoop = new AbortController();
  let loop: Promise<void> | undefined;

  const save = (): void => void saveUptimeState(deps.stateFile, state, warn);

  /** The span since the previous check of this run, when the clocks say the agent was running throughout. */
  function coveredSince(p: { tick: Tick; state: CheckState }, cur: Tick): Covered | undefined {
    const wallMs = cur.wall - p.tick.wall;
    const monoMs = cur.mono - p.tick.mono;
    if (wallMs <= 0 || Math.abs(wallMs - monoMs) > CLOCK_AGREEMENT_MS || monoMs > BRIDGE_INTERVALS * deps.intervalMs) return undefined;
    return { from: p.tick.wall, to: cur.wall, up: countsAsUp(p.state) };
  }

  const monitor = {
    /** Records start (and unclean_stop), closes what the previous run left that cannot continue. */
    begin(): void {
      const previous = loadUptimeState(deps.stateFile, warn);
      const now = clocks.wall();
      const sys = clocks.systemUptimeS();
      for (const r of startEvents(previous, now, sys, tag)) deps.record(r);
      let { outage, slot } = previous;
      // An outage continues across a quick restart; after a longer gap what happened is unknown.
      const gapMs = previous.lastAliveAt === undefined ? Infinity : now - previous.lastAliveAt;
      if (outage && (gapMs < 0 || gapMs > BRIDGE_INTERVALS * deps.intervalMs)) {
        deps.record(endWithoutRecovery(outage, previous.running ? 'device_off' : 'agent_stopped', tag));
        outage = undefined;
      }
      if (slot && slot.start !== slotStartOf(now)) {
        deps.record(slotResult(slot, tag));
        slot = undefined;
      }
      state = { version: 1, running: true, lastAliveAt: now, ...(slot ? { slot } : {}), ...(outage ? { outage } : {}) };
      prev = undefined;
      save();
    },

    /** One check; an aborted check is not counted. */
    async tick(signal: AbortSignal): Promise<CheckOutcome | undefined> {
      const cur = readTick(clocks);
      const outcome = await deps.check(signal);
      if (signal.aborted) return undefined;
      const at = cur.wall;
      let covered: Covered | undefined;
      if (prev) {
        const slept = detectSleep(prev.tick, cur, SLEEP_INTERVALS * deps.intervalMs);
        if (slept) {
          deps.record(eventResult('sleep', slept.fromAt, { from_at: slept.fromAt, to_at: slept.toAt, gap_s: slept.gapS, system_uptime_s: cur.sys, booted: false }, tag));
          if (state.outage) deps.record(endWithoutRecovery(state.outage, 'device_off', tag));
          state = { ...state, outage: undefined };
        } else if (state.outage && cur.wall - prev.tick.wall > SLEEP_INTERVALS * deps.intervalMs) {
          // No checks for a long while and no sleep proven (e.g. a monotonic clock that counts sleep, a stalled
          // process): the silence is unknown, not outage, so the interval ends at its last failed check.
          deps.record(endWithoutRecovery(state.outage, 'device_off', tag));
          state = { ...state, outage: undefined };
        } else {
          covered = coveredSince(prev, cur);
        }
      }
      const slots = addCheck(state.slot, at, outcome.state, covered);
      for (const closed of slots.closed) deps.record(slotResult(closed, tag));
      const tracked = trackCheck(state.outage, at, outcome.state, tag);
      if (tracked.ended) deps.record(tracked.ended);
      state = { version: 1, running: true, lastAliveAt: at, slot: slots.open, ...(tracked.ongoing ? { outage: tracked.ongoing } : {}) };
      save();
      prev = { tick: cur, state: outcome.state };
      deps.log?.debug?.({ state: outcome.state, detail: outcome.detail }, 'connectivity check');
      return outcome;
    },

    /** Clean stop: ends an ongoing outage, sends the partial slot (a later resend overwrites it), records stop. */
    end(): void {
      const cur = readTick(clocks);
      let slot = state.slot;
      if (prev) {
        const covered = coveredSince(prev, cur);
        if (covered) {
          const spanned = addSpan(slot, covered);
          for (const closed of spanned.closed) deps.record(slotResult(closed, tag));
          slot = spanned.open;
        }
      }
      if (slot) deps.record(slotResult(slot, tag));
      if (state.outage) deps.record(endWithoutRecovery(state.outage, 'agent_stopped', tag));
      deps.record(eventResult('stop', cur.wall, { system_uptime_s: Math.max(0, cur.sys) }, tag));
      state = { version: 1, running: false, lastAliveAt: cur.wall, ...(slot ? { slot } : {}) };
      save();
    },

    start(): void {
      monitor.begin();
      loop = (async () => {
        const signal = stopLoop.signal;
        while (!signal.aborted) {
          const started = clocks.mono();
          await monitor.tick(signal);
          await wait(deps.intervalMs - (clocks.mono() - started), signal);
        }
      })().catch((err: unknown) => warn(`uptime monitor stopped: ${(err as Error).message}`));
    },

    async stop(): Promise<void> {
      stopLoop.abort();
      await loop;
      monitor.end();
    },

    get state(): UptimeState {
      return state;
    },
  };
  return monitor;
}
export type UptimeMonitor = ReturnType<typeof createUptimeMonitor>;
