// What every throughput endpoint (ndt7, the HTTP streams) is admitted by: the limits on tests running at
// once across collector processes, and the answer to "may this caller test now?".
import type { ErrorCode } from '../../protocol/api.ts';
import { MAX_HTTP_STREAMS } from '../../protocol/probe-options/throughput.ts';
import type { TransferFloor } from './transfer-floor.ts';

export interface ThroughputLimits extends TransferFloor {
  /** ndt7 tests running at once, across collector processes. */
  ndt7MaxConcurrent: number;
  /** Multi-stream HTTP streams running at once, across collector processes. */
  httpMaxStreams: number;
  /** How long a test waits for a free slot before it is refused. */
  queueWaitMs: number;
  /** Largest download one HTTP stream may ask for, and largest upload it may send. */
  httpMaxBytes: number;
  /** Hard time limit of one HTTP stream. */
  httpMaxMs: number;
  /** HTTP streams one device holds at once (an ndt7 test is one slot, and a device runs one test at a time). */
  httpStreamsPerDevice: number;
  /** Test connections one device may open at once, and per minute after that; past it 429 before the store is asked. */
  attemptBurst: number;
  attemptsPerMinute: number;
}

export const DEFAULT_THROUGHPUT_LIMITS: ThroughputLimits = {
  ndt7MaxConcurrent: 8,
  httpMaxStreams: 32,
  queueWaitMs: 5_000,
  httpMaxBytes: 200 * 1024 * 1024,
  httpMaxMs: 30_000,
  // As many streams as an agent may be configured to open: more would cut an honest test short.
  httpStreamsPerDevice: MAX_HTTP_STREAMS,
  // A full HTTP test is 2 × 16 connections, an ndt7 test 2; a device tests a few times an hour.
  attemptBurst: 64,
  attemptsPerMinute: 120,
  // 8 kbit/s: a 256 kbit/s school link split over 16 streams (2000 bytes/s each) still passes; a trickle does not.
  minBytesPerSecond: 1024,
  rateWindowMs: 5_000,
  // The agent gives a test up after 4 s without progress (stallSeconds); the server waits a little longer.
  idleTimeoutMs: 5_000,
};

/** A slot to run the test in, or why not (the status and error body the caller gets). */
export type Admission = { slot: string } | { status: 401 | 429 | 503; code: ErrorCode; message: string; retryAfterS?: number };
