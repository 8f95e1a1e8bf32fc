import { createTask, type ScheduledTask } from 'node-cron';
import { sleep } from '../platform/abortable-sleep.ts';

export interface Job {
  name: string;
  cron: string;
  /** A random 0..splayMs wait before each run spreads a fleet that shares a cron expression. */
  splayMs: number;
  /** The run's signal aborts after this long; the scheduler then stops waiting for it. */
  timeoutMs: number;
  run(signal: AbortSignal): Promise<void>;
}

export interface SchedulerEvents {
  onSkippedOverlap?(job: string): void;
  onError?(job: string, err: unknown): void;
}

/**
 * node-cron fires the ticks; this adds what a fleet needs around them: splay, no overlapping runs of one job,
 * a timeout per run, and a stop that aborts and waits for what is running.
 */
export class Scheduler {
  private readonly jobs = new Map<string, { job: Job; task?: ScheduledTask; running?: Promise<void> }>();
  private readonly stopping = new AbortController();
  private readonly random: () => number;
  private readonly events: SchedulerEvents;
  readonly skippedOverlaps = new Map<string, number>();

  constructor(opts: { random?: () => number; events?: SchedulerEvents } = {}) {
    this.random = opts.random ?? Math.random;
    this.events = opts.events ?? {};
  }

  add(job: Job): void {
    if (this.jobs.has(job.name)) throw new Error(`job ${job.name} is already scheduled`);
    this.jobs.set(job.name, { job });
  }

  start(): void {
    for (const entry of this.jobs.values()) {
      entry.task = createTask(entry.job.cron, () => void this.trigger(entry.job.name, true), { name: entry.job.name });
      void entry.task.start();
    }
  }

  /** Runs a job now (without splay unless asked); resolves when the run ends. A run already going is not doubled. */
  trigger(name: string, withSplay = false): Promise<void> {
    const entry = this.jobs.get(name);
    if (!entry) return Promise.reject(new Error(`no job named ${name}`));
    if (this.stopping.signal.aborted) return Promise.resolve();
    if (entry.running) {
      this.skippedOverlaps.set(name, (this.skippedOverlaps.get(name) ?? 0) + 1);
      this.events.onSkippedOverlap?.(name);
      return entry.running;
    }
    entry.running = this.runOnce(entry.job, withSplay).finally(() => {
      entry.running = undefined;
    });
    return entry.running;
  }

  private async runOnce(job: Job, withSplay: boolean): Promise<void> {
    if (withSplay && job.splayMs > 0) {
      await sleep(Math.floor(this.random() * job.splayMs), this.stopping.signal);
      if (this.stopping.signal.aborted) return;
    }
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(job.timeoutMs)]);
    // A job that ignores its signal must not hold the schedule forever: stop waiting a little after the abort.
    const abandoned = new Promise<void>((resolve) => {
      signal.addEventListener('abort', () => setTimeout(resolve, 2_000).unref(), { once: true });
    });
    try {
      await Promise.race([job.run(signal), abandoned]);
    } catch (err) {
      this.events.onError?.(job.name, err);
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const entry of this.jobs.values()) await entry.task?.destroy();
    await Promise.allSettled([...this.jobs.values()].map((e) => e.running));
  }
}
