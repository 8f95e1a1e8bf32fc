import { afterEach, describe, expect, it, vi } from 'vitest';
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
});
