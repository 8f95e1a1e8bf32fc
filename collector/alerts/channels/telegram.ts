// Telegram Bot API: POST <baseUrl>/bot<token>/sendMessage with chat_id and text. The base URL is
// configurable for a local Bot API server or a proxy. Telegram answers {"ok":false} with the HTTP status.
import type { Lang } from '../types.ts';
import { type Channel, postJson } from './channel.ts';

/** Telegram's own limit on one message. */
const MAX_TEXT = 4096;

export function telegramChannel(c: { id: string; lang: Lang; botToken: string; chatId: string | number; baseUrl: string }, opts: { timeoutMs: number }): Channel {
  const url = `${c.baseUrl.replace(/\/+$/, '')}/bot${c.botToken}/sendMessage`;
  return {
    id: c.id,
    lang: c.lang,
    async send(rendered) {
      const text = `${rendered.subject}\n\n${rendered.text}`.slice(0, MAX_TEXT);
      await postJson(url, JSON.stringify({ chat_id: c.chatId, text, disable_web_page_preview: true }), {}, opts.timeoutMs);
    },
  };
}
