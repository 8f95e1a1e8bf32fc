// Signed JSON webhook. Headers: `X-Songcheck-Timestamp` (Unix seconds) and `X-Songcheck-Signature`
// (`sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` with the shared secret). A receiver recomputes the
// HMAC over the raw body, compares in constant time and refuses timestamps older than a few minutes, so a
// captured request cannot be replayed later (verifyWebhookSignature below, documented in docs/alerts.md).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Channel } from './channel.ts';
import { postJson } from './channel.ts';
import type { Lang } from '../types.ts';

export const SIGNATURE_HEADER = 'x-songcheck-signature';
export const TIMESTAMP_HEADER = 'x-songcheck-timestamp';

export function signWebhook(secret: string, timestampS: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex')}`;
}

export function verifyWebhookSignature(secret: string, headers: { timestamp?: string; signature?: string }, rawBody: string, nowMs = Date.now(), toleranceS = 300): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowMs / 1000 - ts) > toleranceS || !headers.signature) return false;
  const expected = Buffer.from(signWebhook(secret, ts, rawBody));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function webhookChannel(c: { id: string; lang: Lang; url: string; secret: string }, opts: { timeoutMs: number; clock?: () => number }): Channel {
  return {
    id: c.id,
    lang: c.lang,
    async send(rendered, message) {
      const body = JSON.stringify({ ...message, subject: rendered.subject, text: rendered.text, lang: c.lang });
      const ts = Math.floor((opts.clock ?? Date.now)() / 1000);
      await postJson(c.url, body, { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: signWebhook(c.secret, ts, body) }, opts.timeoutMs);
    },
  };
}
