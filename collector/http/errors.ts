// One error shape for every failure: { error: { code, message, requestId } }. Codes are stable (agents
// and scripts branch on them); messages are for people; the request id finds the matching log line.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { ErrorBody, ErrorCode, ErrorDetail } from '../../protocol/api.ts';
import { formatIssuesLine } from '../validation.ts';

export type { ErrorCode } from '../../protocol/api.ts';

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
  details?: ErrorDetail[],
) {
  const body: ErrorBody = { error: { code, message, requestId: c.get('requestId') as string | undefined, ...(details ? { details } : {}) } };
  // Error bodies describe one request; no proxy or browser may keep them.
  return c.json(body, status, { 'cache-control': 'no-store', ...headers });
}

/** Reads the body as JSON; a broken body is the client's error (400), not ours (500). */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw new ApiError(400, 'bad_request', 'request body is empty; expected a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError(400, 'bad_request', `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Parses a body or query with its schema, or answers 400 `bad_request` naming each problem. */
export function checkInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, 'bad_request', `invalid ${what}: ${formatIssuesLine(parsed.error)}`);
  return parsed.data;
}
