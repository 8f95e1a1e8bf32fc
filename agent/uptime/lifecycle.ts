// The agent's own life as evidence (docs/uptime.md#device-on-and-off): start, stop, a start that found no
// clean stop (unclean_stop), and sleep, told apart from a clock step by three clocks: the wall clock, the
// monotonic clock (stops while the device sleeps) and the system uptime (counts sleep, restarts at boot).
import { uptime } from 'node:os';
import type { AgentEventFields, Result } from '../../protocol/results.ts';

export interface Clocks {
  /** Wall clock, epoch ms. */
  wall(): number;
  /** Monotonic ms: does not jump with the wall clock and does not advance while the device sleeps. */
  mono(): number;
  /** Seconds since the system booted, sleep included (Linux /proc/uptime, Windows tick count). */
  systemUptimeS(): number;
}

export const systemClocks: Clocks = { wall: Date.now, mono: () => performance.now(), systemUptimeS: uptime };

/** The three clocks read at one moment. */
export interface Tick {
  wall: number;
  mono: number;
  sys: number;
}
export const readTick = (c: Clocks): Tick => ({ wall: c.wall(), mono: c.mono(), sys: c.systemUptimeS() });

type LifeEvent = 'start' | 'stop' | 'unclean_stop' | 'sleep';

export function eventResult(event: LifeEvent, measuredAt: number, fields: AgentEventFields, deviceTag: string): Result {
  return {
    id: `ev-${event.replace('_', '')}-${measuredAt.toString(36)}-${deviceTag}`,
    probe: 'agent_event',
    event,
    target: 'self',
    measuredAt,
    code: 'ok',
    fields,
  };
}

/**
 * A sleep between two ticks: the wall clock ran ahead of the monotonic clock by more than thresholdMs, and the
 * system uptime (which counts sleep) agrees. A wall jump the system uptime does not share is a clock step,
 * not a sleep. Returns the gap as the device saw it.
 */
export function detectSleep(prev: Tick, cur: Tick, thresholdMs: number): { fromAt: number; toAt: number; gapS: number } | undefined {
  const monoMs = cur.mono - prev.mono;
  const wallAhead = cur.wall - prev.wall - monoMs;
  const sysAhead = (cur.sys - prev.sys) * 1000 - monoMs;
  if (wallAhead <= thresholdMs || sysAhead <= thresholdMs / 2) return undefined;
  return { fromAt: prev.wall, toAt: cur.wall, gapS: (cur.wall - prev.wall) / 1000 };
}

/** The gap since the agent was last known alive, and whether the device booted in it. */
export function gapSince(lastAliveAt: number | undefined, now: number, systemUptimeS: number): Pick<AgentEventFields, 'from_at' | 'to_at' | 'gap_s' | 'booted'> {
  if (lastAliveAt === undefined || lastAliveAt > now) return {};
  return { from_at: lastAliveAt, to_at: now, gap_s: (now - lastAliveAt) / 1000, booted: systemUptimeS * 1000 < now - lastAliveAt };
}

/**
 * What a start records: an unclean_stop when the previous run never recorded its stop (power loss, crash,
 * SIGKILL), then the start itself. Ids are derived from the times, so a start repeated after a crash
 * before its state was saved overwrites the same points.
 */
export function startEvents(previous: { running: boolean; lastAliveAt?: number }, now: number, systemUptimeS: number, deviceTag: string): Result[] {
  const gap = gapSince(previous.lastAliveAt, now, systemUptimeS);
  const sys = { system_uptime_s: Math.max(0, systemUptimeS) };
  const out: Result[] = [];
  if (previous.running && gap.from_at !== undefined) out.push(eventResult('unclean_stop', gap.from_at, { ...gap, ...sys }, deviceTag));
  out.push(eventResult('start', now, { ...gap, ...sys }, deviceTag));
  return out;
}
