// Builds channels from their configuration (one factory per type).
import type { ChannelConfig } from '../config.ts';
import type { Channel } from './channel.ts';
import { slackChannel } from './slack.ts';
import { smtpChannel } from './smtp.ts';
import { telegramChannel } from './telegram.ts';
import { webhookChannel } from './webhook.ts';

export function createChannel(c: ChannelConfig, opts: { timeoutMs: number; clock?: () => number }): Channel {
  switch (c.type) {
    case 'webhook': return webhookChannel(c, opts);
    case 'telegram': return telegramChannel(c, opts);
    case 'slack': return slackChannel(c, opts);
    case 'smtp': return smtpChannel(c, opts);
  }
}
