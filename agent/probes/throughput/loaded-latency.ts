// Latency under load: TCP-connect round trips to the test server before the transfer (idle) and during it
// (loaded), with the tcp probe's own connect timing. RPM (round trips per minute) = 60000 / loaded median.
import { connectOnce } from '../tcp-connect.ts';
import { latencyStats } from '../latency-stats.ts';
import { sleep } from '../../platform/abortable-sleep.ts';

export interface LatencyTarget {
  address: string;
  port: number;
}

/** Median of `count` connects, 100 ms apart; undefined when none was answered. */
export async function idleRtt(target: LatencyTarget, count: number, signal: AbortSignal): Promise<number | undefined> {
  return latencyStats(await idleRtts(target, count, signal)).rtt_median_ms;
}

/** Each of `count` connects, 100 ms apart (null: unanswered). */
export async function idleRtts(target: LatencyTarget, count: number, signal: AbortSignal): Promise<(number | null)[]> {
  const rtts: (number | null)[] = [];
  for (let i = 0; i < count && !signal.aborted; i++) {
    const o = await connectOnce(target.address, target.port, 2_000, signal);
    if ('aborted' in o) break;
    rtts.push(o.ok ? o.rttMs : null);
    if (i < count - 1) await sleep(100, signal);
  }
  return rtts;
}

/**
 * Connects every `intervalMs` from `startAt` (performance.now()) until stopped; the figures cover only the
 * answered connects. A connect that takes longer than 3 s counts as lost.
 */
export function loadedRttSampler(target: LatencyTarget, intervalMs: number) {
  const stop = new AbortController();
  const rtts: (number | null)[] = [];
  let startAt = Infinity;
  const running = (async () => {
    for (let i = 0; i < 10_000 && !stop.signal.aborted; i++) {
      const began = performance.now();
      if (began >= startAt) {
        const o = await connectOnce(target.address, target.port, 3_000, stop.signal);
        if ('aborted' in o) break;
        rtts.push(o.ok ? o.rttMs : null);
      }
      await sleep(intervalMs - (performance.now() - began), stop.signal);
    }
  })();
  return {
    /** Loaded probes count from this moment on (the end of the warm-up). */
    startAt(t: number): void {
      startAt = Math.min(startAt, t);
    },
    async finish() {
      stop.abort();
      await running;
      const s = latencyStats(rtts);
      return {
        median: s.rtt_median_ms,
        p95: s.rtt_p95_ms,
        samples: s.received,
        rpm: s.rtt_median_ms ? Math.round(60_000 / Math.max(s.rtt_median_ms, 0.001)) : undefined,
      };
    },
  };
}
