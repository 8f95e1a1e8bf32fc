// What every channel is: send one rendered message, resolve on the receiver's acceptance (2xx), throw a
// DeliveryError that says whether trying again can help.
import type { Rendered } from '../templates.ts';
import type { AlertMessage, Lang } from '../types.ts';

export class DeliveryError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface Channel {
  id: string;
  lang: Lang;
  send(rendered: Rendered, message: AlertMessage): Promise<void>;
  close?(): void;
}

/** 429 and 5xx are worth retrying; other 4xx mean the request itself is wrong (bad token, gone chat). */
export function httpStatusError(status: number, body: string): DeliveryError {
  return new DeliveryError(`HTTP ${status}: ${body.slice(0, 200)}`, status === 429 || status >= 500 || status === 408);
}

/** POSTs JSON with a timeout; network failures and timeouts are retryable. */
export async function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    throw new DeliveryError(`${e.cause?.code ?? e.name}: ${e.message}`, true);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) throw httpStatusError(res.status, text);
}
