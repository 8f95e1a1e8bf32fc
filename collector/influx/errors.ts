// Write failures are either retryable or permanent, and only that decides what the agent is told:
// retryable → 503 + Retry-After and nothing acknowledged (the agent keeps the results and tries again);
// permanent → the results InfluxDB refused are rejected and the agent drops them.
import { HttpError } from '@influxdata/influxdb-client';

export class RetryableWriteError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
    /** InfluxDB refused our credentials or database: a collector misconfiguration, not the agent's fault. */
    readonly misconfigured = false,
  ) {
    super(message);
    this.name = 'RetryableWriteError';
  }
}

export class PermanentWriteError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'PermanentWriteError';
  }
}

/** InfluxDB's own words: 1.x sends `{"error": ...}`, 2.x/3.x `{"message": ...}`. */
export function influxMessage(error: HttpError): string {
  const body = error.body ?? '';
  try {
    const json = JSON.parse(body) as { error?: unknown; message?: unknown };
    const text = json.error ?? json.message;
    if (typeof text === 'string' && text) return text;
  } catch {
    // not JSON: fall through to the raw body
  }
  return body.trim().slice(0, 500) || `${error.statusCode} ${error.statusMessage ?? ''}`.trim();
}

export function classifyWriteError(error: unknown): RetryableWriteError | PermanentWriteError {
  if (error instanceof RetryableWriteError || error instanceof PermanentWriteError) return error;
  if (error instanceof HttpError) {
    const status = error.statusCode;
    const message = influxMessage(error);
    // 401/403: bad credentials; 404: database missing. Both are the collector's set-up, and the data
    // is fine, so the agent must keep it until someone fixes the collector.
    if (status === 401 || status === 403 || status === 404) {
      return new RetryableWriteError(`InfluxDB refused the write (${status}): ${message}`, status, true);
    }
    // Other 4xx (400 bad line protocol or field type conflict, 413 too large, 422 beyond retention)
    // are about the data itself: sending it again would fail again.
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return new PermanentWriteError(message, status);
    }
    return new RetryableWriteError(`InfluxDB answered ${status}: ${message}`, status);
  }
  // Connection refused/reset, DNS failure, timeout, aborted response: InfluxDB never judged the data.
  const err = error as { code?: string; message?: string } | undefined;
  const detail = [err?.code, err?.message].filter(Boolean).join(' ') || String(error);
  return new RetryableWriteError(`InfluxDB unreachable: ${detail}`);
}
