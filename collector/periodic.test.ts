import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openCollectorStore } from './database.ts';
import { createLogger } from './logger.ts';
import { periodic, timersHealth } from './periodic.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('periodic', () => {
  it('logs and counts a failing run instead of swallowing it, and never overlaps runs', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (l: string) => void lines.push(l) });
    let active = 0;
    let maxActive = 0;
    let n = 0;
    const job = periodic('test.job', 1000, async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 2500));
      active--;
      if (++n === 2) throw new Error('influx down');
    }, { logger });
    await vi.advanceTimersByTimeAsync(10_000);
    const stopped = job.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    await stopped;
    expect(maxActive).toBe(1);
    const h = timersHealth()['test.job']!;
    expect(h.failures).toBe(1);
    expect(h.runs).toBeGreaterThanOrEqual(3);
    expect(h.lastError).toBe('influx down');
    expect(lines.some((l) => l.includes('test.job failed') && l.includes('influx down'))).toBe(true);
  });

  it('runs once more after the run in progress when triggered, however often, and not after stop', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const job = periodic('test.trigger', 60_000, async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 100));
    });
    job.trigger();
    job.trigger();
    job.trigger();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(2);
    job.trigger();
    const stopped = job.stop();
    await vi.advanceTimersByTimeAsync(1000);
    await stopped;
    job.trigger();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(runs).toBe(3);
  });

  it('with a lease, runs in one process of those sharing the store, and the other takes over after a stop', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-periodic-'));
    const [a, b] = [await openCollectorStore(dir), await openCollectorStore(dir)];
    try {
      const ran: string[] = [];
      const job = (holder: string, store: typeof a) =>
        periodic('test.leased', 20, () => void ran.push(holder), { lease: { store, name: 'test-leased', holder, ttlMs: 60_000 } });
      const jobA = job('A', a);
      await vi.waitFor(() => expect(ran).toContain('A'), { timeout: 5000 });
      const jobB = job('B', b);
      // B must have tried (and been refused) before we look: on a loaded machine its first lease query on
      // PostgreSQL can take longer than any fixed pause.
      await vi.waitFor(() => expect(timersHealth()['test.leased']!.skipped).toBeGreaterThan(0), { timeout: 5000 });
      expect(ran).not.toContain('B');
      await jobA.stop();
      await vi.waitFor(() => expect(ran).toContain('B'), { timeout: 5000 });
      await jobB.stop();
    } finally {
      await a.close();
      await b.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
