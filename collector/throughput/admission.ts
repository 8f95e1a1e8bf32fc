// What every throughput endpoint (ndt7, the HTTP streams) is admitted by: the limits on tests running at
// once across collector processes, and the answer to "may this caller test now?".
import type { ErrorCode } from '../../protocol/api.ts';

export interface ThroughputLimits {
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
}

export const DEFAULT_THROUGHPUT_LIMITS: ThroughputLimits = {
  ndt7MaxConcurrent: 8,
  httpMaxStreams: 32,
  queueWaitMs: 5_000,
  httpMaxBytes: 200 * 1024 * 1024,
  httpMaxMs: 30_000,
};

/** A slot to run the test in, or why not (the status and error body the caller gets). */
export type Admission = { slot: string } | { status: 401 | 503; code: ErrorCode; message: string; retryAfterS?: number };
