import { backoffDelay } from '../../protocol/backoff.ts';
import { MeasurementBatchResponse, ReceivedErrorBody, type ResultAck } from '../../protocol/api.ts';
import type { Result } from '../../protocol/results.ts';
import { postJson, type HttpResponse, type PostJson } from '../net/http-client.ts';
import { sleep } from '../platform/abortable-sleep.ts';
import type { QueueBatch } from '../queue/durable-queue.ts';

/** Keeps a batch under the collector's default 1 MiB body limit, with room for the envelope. */
const BATCH_MAX_JSON_BYTES = 768 * 1024;

/** The part of the durable queue the uploader needs: a batch from the head, deleted only once acknowledged. */
export interface PendingResults {
  nextBatch(maxRecords: number, maxBytes?: number): QueueBatch<Result>;
}

export interface UploaderOptions {
  collectorUrl: string;
  token: string;
  agentVersion: string;
  batchSize: number;
  intervalMs: number;
  timeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  random?: () => number;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  post?: PostJson;
  /** What is sent for the records (the signed envelopes, docs/evidence.md); default: the records themselves. */
  prepare?(records: Result[]): unknown[];
  /** The collector refused the batch for its signing (409): register the key, then the batch is sent again. */
  onSigningRefused?(code: string, message: string): Promise<void>;
  /** `response` is the collector's answer (absent for the one result dropped as too large). */
  onAcked?(records: Result[], acks: ResultAck[], response?: MeasurementBatchResponse): void;
  onFailure?(failure: UploadFailure): void;
}

/** Why a delivery attempt failed, and whether trying again later can help. Nothing is deleted on failure. */
export interface UploadFailure {
  kind: 'retryable' | 'needs_operator';
  message: string;
  retryAfterMs?: number;
}

export interface UploaderStats {
  stored: number;
  rejected: number;
  attempts: number;
  failures: number;
  consecutiveFailures: number;
  lastUploadAt?: number;
  lastFailure?: UploadFailure;
}

/**
 * Moves results from the queue to the collector. Deletes a result only when the collector's answer names it
 * (stored or rejected); anything else keeps it and backs off exponentially with jitter, honouring Retry-After.
 */
export class Uploader {
  readonly stats: UploaderStats = { stored: 0, rejected: 0, attempts: 0, failures: 0, consecutiveFailures: 0 };
  private batchSize: number;
  private wake?: () => void;
  private readonly opts: Required<Pick<UploaderOptions, 'random' | 'now' | 'sleep' | 'post'>> & UploaderOptions;

  constructor(
    private readonly queue: PendingResults,
    options: UploaderOptions,
  ) {
    this.opts = { random: Math.random, now: Date.now, sleep, post: postJson, ...options };
    this.batchSize = options.batchSize;
  }

  /** New results are waiting: deliver them now unless the uploader is backing off. */
  kick(): void {
    this.wake?.();
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const failure = await this.drain(signal);
      if (signal.aborted) return;
      if (failure) {
        await this.opts.sleep(this.backoffMs(failure), signal);
      } else {
        await this.idle(signal);
      }
    }
  }

  /** Delivers batches until the queue is empty or an attempt fails. */
  async drain(signal: AbortSignal): Promise<UploadFailure | undefined> {
    for (let guard = 0; guard < 10_000 && !signal.aborted; guard++) {
      const batch = this.queue.nextBatch(this.batchSize, BATCH_MAX_JSON_BYTES);
      if (batch.records.length === 0) return undefined;
      const failure = await this.deliver(batch, signal);
      if (failure) {
        this.stats.failures++;
        this.stats.consecutiveFailures++;
        this.stats.lastFailure = failure;
        this.opts.onFailure?.(failure);
        return failure;
      }
      this.stats.consecutiveFailures = 0;
      this.stats.lastUploadAt = this.opts.now();
    }
    return undefined;
  }

  private async deliver(batch: QueueBatch<Result>, signal: AbortSignal): Promise<UploadFailure | undefined> {
    const { records } = batch;
    this.stats.attempts++;
    let res: HttpResponse;
    try {
      res = await this.opts.post(
        new URL('/api/v1/measurements', this.opts.collectorUrl),
        JSON.stringify({ agentVersion: this.opts.agentVersion, sentAt: this.opts.now(), results: this.opts.prepare ? this.opts.prepare(records) : records }),
        { headers: { authorization: `Bearer ${this.opts.token}` }, signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.timeoutMs)]) },
      );
    } catch (err) {
      return { kind: 'retryable', message: `collector unreachable: ${describe(err)}` };
    }
    const body = res.text;
    if (res.status === 200) return this.settle(batch, body);
    if (res.status === 413) return this.tooLarge(batch, body);
    const retryAfterMs = parseRetryAfter(res.header('retry-after') ?? null, this.opts.now());
    if (res.status === 401 || res.status === 403) {
      // Keep everything: a re-enrolled or un-revoked device can still deliver it.
      return { kind: 'needs_operator', message: `collector refused this device's token (${res.status}): re-enroll the agent`, retryAfterMs };
    }
    if (res.status === 409) {
      // Signing (docs/evidence.md): not the results' fault; keep them, fix the key, send again.
      const err = ReceivedErrorBody.safeParse(safeJson(body));
      const code = err.success ? err.data.error.code : 'conflict';
      const message = err.success ? err.data.error.message : body.slice(0, 200);
      await this.opts.onSigningRefused?.(code, message);
      return { kind: 'retryable', message: `collector refused the batch (${code}): ${message}`, retryAfterMs };
    }
    if (res.status === 400) {
      return { kind: 'needs_operator', message: `collector rejected the batch as malformed: ${body.slice(0, 300)}`, retryAfterMs };
    }
    return { kind: 'retryable', message: `collector answered ${res.status}: ${body.slice(0, 200)}`, retryAfterMs };
  }

  private settle(batch: QueueBatch<Result>, body: string): UploadFailure | undefined {
    const { records } = batch;
    let parsed;
    try {
      parsed = MeasurementBatchResponse.safeParse(JSON.parse(body));
    } catch {
      parsed = undefined;
    }
    // Delete only if the answer accounts for every result we sent; otherwise resend (writes are idempotent).
    const acks = parsed?.success ? parsed.data.results : [];
    const covered = new Set(acks.map((a) => a.index));
    if (!parsed?.success || records.some((_, i) => !covered.has(i))) {
      return { kind: 'retryable', message: 'collector answered 200 without an acknowledgement for every result' };
    }
    const failed = this.acknowledge(batch);
    if (failed) return failed;
    // A smaller batch forced by a 413 was the exception, not the new rule.
    this.batchSize = this.opts.batchSize;
    // Held results are in the collector's custody (its dead-letter store): delivered, like stored ones.
    this.stats.stored += parsed.data.stored + (parsed.data.held ?? 0);
    this.stats.rejected += parsed.data.rejected;
    this.opts.onAcked?.(records, acks, parsed.data);
    return undefined;
  }

  /**
   * The collector's body limit: shrink the batch. A single result is dropped as rejected only when the
   * collector itself says so (its `payload_too_large` error body); a 413 from a proxy in between keeps it.
   */
  private tooLarge(batch: QueueBatch<Result>, body: string): UploadFailure | undefined {
    const { records } = batch;
    if (records.length > 1) {
      this.batchSize = Math.max(1, Math.floor(records.length / 2));
      return { kind: 'retryable', message: `batch too large for the collector; retrying with ${this.batchSize}`, retryAfterMs: 0 };
    }
    const fromCollector = ReceivedErrorBody.safeParse(safeJson(body));
    if (!fromCollector.success || fromCollector.data.error.code !== 'payload_too_large') {
      return { kind: 'needs_operator', message: `a single result was refused as too large by something other than the collector (a proxy?): ${body.slice(0, 200)}` };
    }
    const failed = this.acknowledge(batch);
    if (failed) return failed;
    this.stats.rejected++;
    this.opts.onAcked?.(records, [{ index: 0, id: records[0]!.id, status: 'rejected', reason: 'larger than the collector accepts' }]);
    return undefined;
  }

  /** Deletes what the collector answered for; a disk that cannot record that keeps the results for a resend. */
  private acknowledge(batch: QueueBatch<Result>): UploadFailure | undefined {
    try {
      batch.ack();
      return undefined;
    } catch (err) {
      return { kind: 'retryable', message: `could not record the acknowledgement on disk (${(err as Error).message}); the batch will be sent again` };
    }
  }

  /** Equal jitter (protocol/backoff.ts); a failure only an operator can fix starts from the longest step. */
  backoffMs(failure: UploadFailure): number {
    const { backoffInitialMs, backoffMaxMs } = this.opts;
    const attempt = failure.kind === 'needs_operator' ? Infinity : this.stats.consecutiveFailures - 1;
    const jittered = backoffDelay(attempt, { initialMs: backoffInitialMs, maxMs: backoffMaxMs, jitter: 'equal' }, this.opts.random);
    return Math.max(jittered, Math.min(failure.retryAfterMs ?? 0, backoffMaxMs));
  }

  private idle(signal: AbortSignal): Promise<void> {
    const inner = new AbortController();
    this.wake = () => inner.abort();
    return this.opts.sleep(this.opts.intervalMs, AbortSignal.any([signal, inner.signal])).finally(() => {
      this.wake = undefined;
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describe(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { name?: string; code?: string } };
  if (e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError') return 'timed out';
  return e.code ?? e.cause?.code ?? e.message ?? String(err);
}
