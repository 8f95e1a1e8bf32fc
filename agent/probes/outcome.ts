import type { ResultCode } from '../../protocol/results.ts';

export interface Failure {
  code: ResultCode;
  detail: string;
}

/**
 * The overall code of a multi-attempt run: 'ok' when every attempt was answered, 'partial' when some were,
 * otherwise the most frequent failure code (ties go to the one seen first).
 */
export function overallCode(sent: number, received: number, failures: readonly Failure[]): ResultCode {
  if (sent > 0 && received === sent) return 'ok';
  if (received > 0) return 'partial';
  const counts = new Map<ResultCode, number>();
  for (const f of failures) counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
  let best: ResultCode = 'error';
  let bestCount = 0;
  for (const [code, n] of counts) {
    if (n > bestCount) [best, bestCount] = [code, n];
  }
  return best;
}

/** "detail A (x3); detail B" — repeated failures collapsed so the detail stays short and readable. */
export function summariseFailures(failures: readonly Failure[]): string | undefined {
  if (failures.length === 0) return undefined;
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f.detail, (counts.get(f.detail) ?? 0) + 1);
  return [...counts].map(([d, n]) => (n > 1 ? `${d} (x${n})` : d)).join('; ');
}
