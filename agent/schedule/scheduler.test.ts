import { afterEach, describe, expect, it } from 'vitest';
import { sleep as abortableSleep } from '../platform/abortable-sleep.ts';
import { Scheduler } from './scheduler.ts';

const sleep = (ms: number) => abortableSleep(ms, new AbortController().signal);

let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

describe('scheduler', () => {
  it('never runs one job twice at the same time', async () => {
    scheduler = new Scheduler();
    let running = 0;
    let maxRunning = 0;
    scheduler.add({
      name: 'slow',
      cron: '0 0 1 1 *',
      splayMs: 0,
      timeoutMs: 5_000,
      run: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(100);
        running--;
      },
    });
    await Promise.all([scheduler.trigger('slow'), scheduler.trigger('slow'), scheduler.trigger('slow')]);
    expect(maxRunning).toBe(1);
    expect(scheduler.skippedOverlaps.get('slow')).toBe(2);
  });

  it('aborts a run at its timeout and frees the job even if the run ignores the signal', async () => {
    scheduler = new Scheduler();
    let sawAbort = false;
    scheduler.add({
      name: 'stuck',
      cron: '0 0 1 1 *',
      splayMs: 0,
      timeoutMs: 50,
      run: (signal) =>
        new Promise(() => {
          signal.addEventListener('abort', () => (sawAbort = true));
        }),
    });
    await scheduler.trigger('stuck');
    expect(sawAbort).toBe(true);
  });

  it('waits a random splay before a scheduled run, drawn from the injected random source', async () => {
    const started: number[] = [];
    scheduler = new Scheduler({ random: () => 0.5 });
    scheduler.add({ name: 'j', cron: '0 0 1 1 *', splayMs: 200, timeoutMs: 1_000, run: async () => void started.push(Date.now()) });
    const t0 = Date.now();
    await scheduler.trigger('j', true);
    expect(started[0]! - t0).toBeGreaterThanOrEqual(95);
  });

  it('fires on its cron expression (seconds field) and stop() ends it', async () => {
    scheduler = new Scheduler();
    let runs = 0;
    scheduler.add({ name: 'tick', cron: '* * * * * *', splayMs: 0, timeoutMs: 1_000, run: async () => void runs++ });
    scheduler.start();
    const deadline = Date.now() + 5_000;
    while (runs < 2 && Date.now() < deadline) await sleep(100);
    await scheduler.stop();
    const after = runs;
    expect(after).toBeGreaterThanOrEqual(2);
    await sleep(1_200);
    expect(runs).toBe(after);
  });

  it('reports errors from a run instead of crashing', async () => {
    const errors: string[] = [];
    scheduler = new Scheduler({ events: { onError: (job) => errors.push(job) } });
    scheduler.add({ name: 'bad', cron: '0 0 1 1 *', splayMs: 0, timeoutMs: 1_000, run: async () => { throw new Error('boom'); } });
    await scheduler.trigger('bad');
    expect(errors).toEqual(['bad']);
  });
});
