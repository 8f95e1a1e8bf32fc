// What both engines (ndt7, multi-stream HTTP) share: the plan of one transfer, its outcome, and the control
// loop that samples the receiver's byte count and decides when to stop.
import type { ResultCode } from '../../../protocol/results.ts';
import { RateEstimator, type Estimate, type EstimatorOptions } from './estimator.ts';
import type { SustainedTracker } from './sustained.ts';

export type Direction = 'download' | 'upload';
export type StopReason = 'stable' | 'time_limit' | 'byte_cap' | 'server_closed' | 'failed' | 'not_started';

export interface TransferPlan {
  direction: Direction;
  /** Never move more payload than this in this direction. */
  capBytes: number;
  /** Never run longer than this (ndt7 servers stop at 10 s anyway). */
  maxDurationMs: number;
  /** No progress for this long is a stalled server: the test ends with code timeout. */
  stallMs: number;
  /** Time allowed to connect (and, for ndt7, to upgrade). */
  connectTimeoutMs: number;
  /** Stop as soon as the estimate is stable; false runs to the time or byte limit. */
  adaptive: boolean;
  estimator: EstimatorOptions;
  /** Rate curve and boost handling: moves the estimate past a step down and holds the stop until past a learned boost. */
  sustained?: SustainedTracker;
  signal: AbortSignal;
  onTick?(estimate: Estimate): void;
}

export interface TransferOutcome {
  code: ResultCode;
  detail?: string;
  stopReason: StopReason;
  /** Application payload moved in this direction (sent for uploads, received for downloads). */
  bytes: number;
  /** Bytes through the sockets, both ways (the data plan's view, before TCP/IP headers). */
  socketBytes: number;
  estimate: Estimate;
  /** The server's own figure (ndt7 measurement messages), Mbit/s. */
  serverMbps?: number;
  durationMs: number;
  /** host:port that served the test. */
  server: string;
  streams: number;
  /** When the transfer's first byte moved (performance.now()); loaded-latency probes start after the warm-up. */
  firstByteAt?: number;
}

/** Sampling period of the control loop. */
export const TICK_MS = 50;

/**
 * Drives one transfer: every TICK_MS it reads the receiver-side count (`sample`), feeds the estimator and
 * checks, in order: aborted, stalled, byte cap, time limit, stable. `stop` is called once with the reason;
 * the returned promise resolves with that reason (or undefined when `finished` resolved first).
 */
export function controlLoop(
  plan: TransferPlan,
  estimator: RateEstimator,
  sample: () => { t: number; bytes: number; moved: number } | undefined,
  finished: Promise<unknown>,
): Promise<{ reason?: StopReason | 'aborted' | 'stalled' }> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    let lastMoved = -1;
    let lastProgressAt = startedAt;
    let done = false;
    const end = (reason?: StopReason | 'aborted' | 'stalled') => {
      if (done) return;
      done = true;
      clearInterval(timer);
      plan.signal.removeEventListener('abort', onAbort);
      resolve({ reason });
    };
    const onAbort = () => end('aborted');
    plan.signal.addEventListener('abort', onAbort, { once: true });
    void finished.then(() => end(undefined));
    const maxTicks = Math.ceil((plan.maxDurationMs + plan.connectTimeoutMs + plan.stallMs) / TICK_MS) + 100;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      const s = sample();
      if (s) {
        if (s.bytes > 0 || estimator.started) {
          estimator.add(s.t, s.bytes);
          plan.sustained?.add(s.t, s.bytes, estimator);
        }
        if (s.moved !== lastMoved) {
          lastMoved = s.moved;
          lastProgressAt = now;
        }
        plan.onTick?.(estimator.estimate());
      }
      if (++ticks > maxTicks) return end('time_limit');
      if (now - lastProgressAt > plan.stallMs) return end('stalled');
      if (s && s.moved >= plan.capBytes) return end('byte_cap');
      const e = estimator.estimate();
      if (e.elapsedMs >= plan.maxDurationMs) return end('time_limit');
      if (plan.adaptive && estimator.stable() && (plan.sustained?.mayStop(e.bytes, e.mbps) ?? true)) return end('stable');
    }, TICK_MS);
  });
}

/** The result code and stop reason of a transfer that ended on `reason`. */
export function verdict(
  reason: StopReason | 'aborted' | 'stalled' | undefined,
  estimate: Estimate,
  minSteadyMs: number,
  abortCode: ResultCode,
): { code: ResultCode; stopReason: StopReason; detail?: string } {
  const enough = estimate.mbps !== undefined && estimate.steadyMs >= Math.min(minSteadyMs, 1000);
  if (reason === 'aborted') return { code: abortCode, stopReason: 'failed', detail: 'stopped by its time limit or the agent' };
  if (reason === 'stalled') return { code: 'timeout', stopReason: 'failed', detail: 'the server stopped sending or acknowledging data' };
  const stopReason: StopReason = reason ?? 'server_closed';
  if (!enough) return { code: 'partial', stopReason, detail: 'too little steady-state data for a reliable figure' };
  return { code: 'ok', stopReason };
}
