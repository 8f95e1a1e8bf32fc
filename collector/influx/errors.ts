// Write failures are either retryable or permanent, and only that decides what the agent is told:
// retryable → 503 + Retry-After and nothing acknowledged (the agent keeps the results and tries again);
// permanent → InfluxDB refused these very points; the collector keeps them in its dead-letter store
// (`held`), since a result the schema accepted is never at fault for the database's state.
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

/**
 * Why InfluxDB refused points, from its own words. None of these is the result's fault once the schema and
 * the tag grammar accepted it: the database's state (a type conflict left by earlier writes, a series or
 * tag-value limit), its retention policy, or a bug in the collector's serialiser. Such results go to the
 * dead-letter store (collector/evidence/dead-letters.ts), never back to the agent as `rejected`.
 */
export const REFUSAL_KINDS = ['type_conflict', 'series_limit', 'tag_values_limit', 'beyond_retention', 'unparsable', 'refused'] as const;
export type RefusalKind = (typeof REFUSAL_KINDS)[number];

export function refusalKind(message: string): RefusalKind {
  if (/field type conflict/i.test(message)) return 'type_conflict';
  if (/max-series-per-database/i.test(message)) return 'series_limit';
  if (/max-values-per-tag/i.test(message)) return 'tag_values_limit';
  if (/beyond retention/i.test(message)) return 'beyond_retention';
  if (/unable to parse|bad timestamp|invalid (field|number|boolean)/i.test(message)) return 'unparsable';
  return 'refused';
}

/** InfluxDB judged the points and refused (some of) them: sending the same line again fails again until the database changes. */
export class PermanentWriteError extends Error {
  readonly kind: RefusalKind;
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'PermanentWriteError';
    this.kind = refusalKind(message);
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
