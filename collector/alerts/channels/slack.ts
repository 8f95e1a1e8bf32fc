// Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): POST {"text": ...}.
import type { Lang } from '../types.ts';
import { type Channel, postJson } from './channel.ts';

export function slackChannel(c: { id: string; lang: Lang; url: string }, opts: { timeoutMs: number }): Channel {
  return {
    id: c.id,
    lang: c.lang,
    async send(rendered) {
      await postJson(c.url, JSON.stringify({ text: `*${rendered.subject}*\n${rendered.text}` }), {}, opts.timeoutMs);
    },
  };
}
