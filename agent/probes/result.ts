import { randomUUID } from 'node:crypto';
import { Result, type ProbeName, type ResultCode } from '../../protocol/results.ts';
import { clip, describeError } from './errors.ts';
import type { ProbeRunContext } from './types.ts';

export type ResultOf<P extends ProbeName> = Extract<Result, { probe: P }>;
export type FieldsOf<P extends ProbeName> = ResultOf<P>['fields'];

export function makeResult<P extends ProbeName>(
  probe: P,
  target: string,
  measuredAt: number,
  code: ResultCode,
  fields: FieldsOf<P>,
  detail?: string,
): ResultOf<P> {
  const r = {
    id: randomUUID(),
    probe,
    target: clip(target, 200) || '-', // the protocol's limit: a tag value the collector accepts
    measuredAt,
    code,
    fields,
    ...(detail ? { detail: clip(detail, 500) } : {}),
  };
  return r as unknown as ResultOf<P>;
}

/**
 * Runs a probe body so that the probe never rejects: measuredAt is taken before anything else, an unexpected
 * exception becomes code 'error', and a result the collector would refuse (a schema violation) is downgraded
 * to 'error' here rather than being spooled and rejected later.
 */
export async function guarded<P extends ProbeName>(
  probe: P,
  target: string,
  ctx: ProbeRunContext,
  emptyFields: FieldsOf<P>,
  body: (measuredAt: number) => Promise<ResultOf<P>>,
): Promise<ResultOf<P>> {
  let measuredAt: number;
  try {
    measuredAt = Math.floor(ctx.now());
  } catch {
    measuredAt = Date.now();
  }
  try {
    const result = await body(measuredAt);
    const checked = Result.safeParse(result);
    if (checked.success) return result;
    const issue = checked.error.issues[0];
    const where = issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown';
    return makeResult(probe, target, measuredAt, 'error', emptyFields, `probe produced an invalid result (${where})`);
  } catch (err) {
    return makeResult(probe, target, measuredAt, 'error', emptyFields, `unexpected: ${describeError(err)}`);
  }
}
