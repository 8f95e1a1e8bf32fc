// One way to run something every so often in the collector: runs never overlap (a tick during a slow run
// is skipped, so a slow InfluxDB does not stack evaluations), a failing run is logged with its timer's name
// and counted, never swallowed, and the counts are shown in /healthz (`timers`). The timer is unref'd: it
// never keeps a stopping process alive.
//
// With `lease`, the work runs once across every process sharing the store (workers of one machine, or
// collectors sharing PostgreSQL): each run first takes or renews the named lease, and a process that does
// not hold it skips the run (counted as `skipped`). The lease is given up when the timer stops, so another
// process takes the work over at its next tick rather than when the lease lapses.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import type { Store } from './store/store.ts';

export interface TimerHealth {
  runs: number;
  failures: number;
  /** Runs left to the process holding the timer's lease. */
  skipped?: number;
  lastError?: string;
}

/** Every timer of this process by name (several instances of one name add up). */
const health = new Map<string, TimerHealth>();

export function timersHealth(): Record<string, TimerHealth> {
  return Object.fromEntries([...health].map(([name, h]) => [name, { ...h }]));
}

/** This process as a lease holder: unique across the machines that share a store. */
export const PROCESS_HOLDER = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;

export interface TimerLease {
  store: Pick<Store, 'tryLease' | 'releaseLease'>;
  /** The lease's name in the store. */
  name: string;
  /** This process, as the lease names it (default PROCESS_HOLDER). */
  holder?: string;
  /** How long one take lasts; longer than the interval (default 2.5 intervals), so the holder keeps it between runs. */
  ttlMs?: number;
  /** Epoch ms for the lease; Date.now by default. */
  now?: () => number;
}

export interface PeriodicOptions {
  logger?: Logger;
  lease?: TimerLease;
  /** Also run once at start (default: first run after one interval). */
  runAtStart?: boolean;
}

export interface Periodic {
  /** Runs now, or right after the run in progress (one extra run however often it is asked for). */
  trigger(): void;
  /** Stops the timer, waits for a run in progress, and gives the lease up. */
  stop(): Promise<void>;
}

function countsOf(name: string): TimerHealth {
  let h = health.get(name);
  if (!h) health.set(name, (h = { runs: 0, failures: 0 }));
  return h;
}

function countFailure(name: string, counts: TimerHealth, err: unknown, logger: Logger | undefined, next: string): void {
  counts.failures++;
  counts.lastError = (err as Error)?.message?.slice(0, 300) ?? String(err);
  logger?.warn({ err, timer: name }, `${name} failed; it runs again ${next}`);
}

/**
 * One run of a job that another clock drives (the compliance schedule's cron): counted under `name` in
 * /healthz like a periodic() timer, a failure logged, never thrown.
 */
export async function runCounted(name: string, fn: () => Promise<unknown> | unknown, logger?: Logger): Promise<void> {
  const counts = countsOf(name);
  try {
    await fn();
  } catch (err) {
    countFailure(name, counts, err, logger, 'at its next scheduled time');
  } finally {
    counts.runs++;
  }
}

export function periodic(name: string, intervalMs: number, fn: () => Promise<unknown> | unknown, opts: PeriodicOptions = {}): Periodic {
  const counts = countsOf(name);
  const lease = opts.lease;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const run = async () => {
    try {
      if (lease && !(await lease.store.tryLease(lease.name, lease.holder ?? PROCESS_HOLDER, (lease.now ?? Date.now)(), lease.ttlMs ?? intervalMs * 2.5))) {
        counts.skipped = (counts.skipped ?? 0) + 1;
        return;
      }
      await fn();
      counts.runs++;
    } catch (err) {
      counts.runs++;
      countFailure(name, counts, err, opts.logger, `in ${Math.round(intervalMs / 1000)} s`);
    } finally {
      running = undefined;
      if (again && !stopped) {
        again = false;
        running = run();
      }
    }
  };
  // A tick that comes while the previous run is still going is skipped, so slow runs never pile up.
  const timer = setInterval(() => {
    running ??= run();
  }, intervalMs);
  timer.unref();
  if (opts.runAtStart) running = run();
  return {
    trigger() {
      if (stopped) return;
      if (running) again = true;
      else running = run();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      if (lease) await lease.store.releaseLease(lease.name, lease.holder ?? PROCESS_HOLDER).catch((err: unknown) => opts.logger?.warn({ err, timer: name }, `${name}: could not give the lease ${lease.name} up`));
    },
  };
}
