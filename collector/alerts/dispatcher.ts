// Sends the outbox: each due row to its channel; marked sent only after the channel accepted it (2xx,
// SMTP 250). Retryable failures wait with exponential backoff up to maxAttempts; permanent ones fail at
// once. A channel whose last `failingAfter` attempts all failed is reported once through the other channels
// and in health(), until it delivers again.
import type { Logger } from 'pino';
import { backoffDelay } from '../../protocol/backoff.ts';
import type { Channel } from './channels/channel.ts';
import { DeliveryError } from './channels/channel.ts';
import type { AlertsConfig } from './config.ts';
import type { AlertStore } from './store.ts';
import { render } from './templates.ts';

export interface ChannelHealth {
  id: string;
  consecutiveFailures: number;
  failing: boolean;
  lastError?: string;
}

export interface DispatchReport {
  sent: number;
  retried: number;
  failed: number;
}

/** At most this many rows per call, so one call is bounded in time (timeout × rows). */
const BATCH = 50;

export class Dispatcher {
  constructor(
    private readonly deps: { config: AlertsConfig; store: AlertStore; channels: Map<string, Channel>; clock: () => number; logger?: Logger; /** The school calendar's zone, for the times in messages. */ timeZone?: string },
  ) {}

  /** No jitter (protocol/backoff.ts): one collector retrying one receiver has no fleet to spread. */
  backoffMs(attempts: number): number {
    const d = this.deps.config.delivery;
    return backoffDelay(attempts - 1, { initialMs: d.baseDelaySeconds * 1000, maxMs: d.maxDelaySeconds * 1000, jitter: 'none' });
  }

  health(): ChannelHealth[] {
    return this.deps.config.channels.map((c) => {
      const h = this.readHealth(c.id);
      return { id: c.id, consecutiveFailures: h.failures, failing: h.failures >= this.deps.config.delivery.failingAfter, ...(h.lastError ? { lastError: h.lastError } : {}) };
    });
  }

  private readHealth(id: string): { failures: number; reported: boolean; lastError?: string } {
    const raw = this.deps.store.getMeta(`channel:${id}`);
    return raw ? (JSON.parse(raw) as { failures: number; reported: boolean; lastError?: string }) : { failures: 0, reported: false };
  }

  async dispatch(): Promise<DispatchReport> {
    const { store, channels, clock, config } = this.deps;
    const report: DispatchReport = { sent: 0, retried: 0, failed: 0 };
    for (const row of store.due(clock(), BATCH)) {
      const channel = channels.get(row.channel);
      if (!channel) {
        store.markFailedAttempt(row.id, `no channel "${row.channel}" in the configuration`, undefined);
        report.failed++;
        continue;
      }
      try {
        await channel.send(render(row.message, channel.lang, config.grafanaUrl, this.deps.timeZone), row.message);
        store.markSent(row.id, clock());
        store.setMeta(`channel:${row.channel}`, JSON.stringify({ failures: 0, reported: false }));
        report.sent++;
      } catch (error) {
        const e = error instanceof DeliveryError ? error : new DeliveryError(String((error as Error)?.message ?? error), true);
        const last = row.attempts + 1 >= config.delivery.maxAttempts || !e.retryable;
        store.markFailedAttempt(row.id, e.message, last ? undefined : clock() + this.backoffMs(row.attempts + 1));
        if (last) report.failed++;
        else report.retried++;
        this.deps.logger?.warn({ channel: row.channel, outbox: row.id, retryable: e.retryable, err: e.message }, 'alert delivery failed');
        this.noteFailure(row.channel, e.message);
      }
    }
    return report;
  }

  private noteFailure(id: string, error: string): void {
    const { store, clock, config } = this.deps;
    const h = this.readHealth(id);
    h.failures += 1;
    h.lastError = error;
    if (h.failures >= config.delivery.failingAfter && !h.reported) {
      h.reported = true;
      const others = config.channels.filter((c) => c.enabled && c.id !== id);
      for (const c of others) store.enqueue(c.id, { kind: 'channel_failing', at: clock(), channel: id, sites: [], lines: [error] }, clock());
    }
    store.setMeta(`channel:${id}`, JSON.stringify(h));
  }
}

