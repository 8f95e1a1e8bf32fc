// One way to run something every so often in the collector: runs never overlap (a tick during a slow run
// is skipped, so a slow InfluxDB does not stack evaluations), a failing run is logged with its timer's name and counted, never swallowed, and the
// counts are shown in /healthz (`timers`). The timer is unref'd: it never keeps a stopping process alive.
import type { Logger } from 'pino';

export interface TimerHealth {
  runs: number;
  failures: number;
  lastError?: string;
}

/** Every timer of this process by name (several instances of one name add up). */
const health = new Map<string, TimerHealth>();

export function timersHealth(): Record<string, TimerHealth> {
  return Object.fromEntries([...health].map(([name, h]) => [name, { ...h }]));
}

export interface Periodic {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function periodic(name: string, intervalMs: number, fn: () => Promise<unknown> | unknown, opts: { logger?: Logger } = {}): Periodic {
  let h = health.get(name);
  if (!h) health.set(name, (h = { runs: 0, failures: 0 }));
  const counts = h;
  let running: Promise<void> | undefined;
  const run = async () => {
    try {
      await fn();
      counts.runs++;
    } catch (err) {
      counts.runs++;
      counts.failures++;
      counts.lastError = (err as Error)?.message?.slice(0, 300) ?? String(err);
      opts.logger?.warn({ err, timer: name }, `${name} failed; it runs again in ${Math.round(intervalMs / 1000)} s`);
    } finally {
      running = undefined;
    }
  };
  // A tick that comes while the previous run is still going is skipped, so slow runs never pile up.
  const timer = setInterval(() => {
    running ??= run();
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
