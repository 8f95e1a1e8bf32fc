// The floor under a throughput transfer (issue 14, case 7): a connection that holds a test slot must move
// bytes. One that stalls for `idleTimeoutMs`, or moves fewer than `minBytesPerSecond` on average over the
// last `rateWindowMs`, is dropped and its slot freed, so a client trickling one byte a second (slowloris)
// cannot keep a slot for the whole hard time limit. docs/throughput.md "Budgets".

export interface TransferFloor {
  /** Average rate a connection must keep over each window of `rateWindowMs` (bytes/s). */
  minBytesPerSecond: number;
  /** The averaging window; the first check is one window after the transfer starts. */
  rateWindowMs: number;
  /** No byte moved for this long: dropped. */
  idleTimeoutMs: number;
}

export type FloorBreach = { reason: 'idle' | 'too_slow'; detail: string };

/**
 * Watches `progress()` (bytes moved so far: received, or accepted by the kernel) and calls `breach` once
 * when the transfer falls under the floor. Returns the function that stops watching.
 */
export function watchTransfer(progress: () => number, floor: TransferFloor, breach: (b: FloorBreach) => void, now: () => number = Date.now): () => void {
  const start = now();
  // (time, bytes) samples covering one window; the oldest one is the window's start.
  const samples: { at: number; bytes: number }[] = [{ at: start, bytes: progress() }];
  let lastMoved = start;
  let lastBytes = samples[0]!.bytes;
  const checkMs = Math.max(50, Math.min(1_000, floor.idleTimeoutMs / 4, floor.rateWindowMs / 4));
  const timer = setInterval(() => {
    const t = now();
    const bytes = progress();
    if (bytes !== lastBytes) {
      lastBytes = bytes;
      lastMoved = t;
    }
    samples.push({ at: t, bytes });
    while (samples.length > 2 && samples[1]!.at <= t - floor.rateWindowMs) samples.shift();
    if (t - lastMoved >= floor.idleTimeoutMs) {
      stop();
      return breach({ reason: 'idle', detail: `no data moved for ${Math.round((t - lastMoved) / 1000)} s` });
    }
    const first = samples[0]!;
    if (t - start >= floor.rateWindowMs && t - first.at >= floor.rateWindowMs) {
      const rate = ((bytes - first.bytes) * 1000) / (t - first.at);
      if (rate < floor.minBytesPerSecond) {
        stop();
        breach({ reason: 'too_slow', detail: `${Math.round(rate)} bytes/s over the last ${Math.round((t - first.at) / 1000)} s, under the floor of ${floor.minBytesPerSecond}` });
      }
    }
  }, checkMs);
  timer.unref();
  function stop(): void {
    clearInterval(timer);
  }
  return stop;
}
