// The transfer floor on a fake clock: an idle transfer, a trickle under the rate, and an honest slow link.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_THROUGHPUT_LIMITS } from './admission.ts';
import { type FloorBreach, watchTransfer } from './transfer-floor.ts';

const floor = DEFAULT_THROUGHPUT_LIMITS;
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function run(bytesPerSecond: number, seconds: number): FloorBreach | undefined {
  let bytes = 0;
  let breach: FloorBreach | undefined;
  const stop = watchTransfer(() => bytes, floor, (b) => (breach = b), () => Date.now());
  for (let i = 0; i < seconds * 10 && !breach; i++) {
    bytes += bytesPerSecond / 10;
    vi.advanceTimersByTime(100);
  }
  stop();
  return breach;
}

describe('watchTransfer', () => {
  it('drops a transfer that moves nothing for the idle timeout', () => {
    expect(run(0, 10)).toMatchObject({ reason: 'idle' });
  });
  it('drops a trickle under the minimum rate once a window has passed', () => {
    expect(run(10, 10)).toMatchObject({ reason: 'too_slow', detail: expect.stringContaining('under the floor of 1024') });
  });
  it('keeps a slow but honest transfer (a 256 kbit/s link over 16 streams)', () => {
    expect(run(256_000 / 8 / 16, 30)).toBeUndefined();
  });
});
