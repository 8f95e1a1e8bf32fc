// Wires the alert engine into a running collector: its own SQLite connection to the registry file, the
// channels, a tick every evaluateEverySeconds and an outbox drain every few seconds. Only the process
// holding the evaluator lease evaluates and sends, so several collector processes never double-notify.
import type { Logger } from 'pino';
import type { QueryResponse } from '../influx/writer.ts';
import type { Registry } from '../registry/registry.ts';
import { type Periodic, periodic } from '../periodic.ts';
import type { Store } from '../store/store.ts';
import type { Channel } from './channels/channel.ts';
import { createChannel } from './channels/index.ts';
import type { AlertsConfig } from './config.ts';
import { type ChannelHealth, Dispatcher, type DispatchReport } from './dispatcher.ts';
import { AlertEngine, LEASE, type TickReport } from './engine.ts';
import { calendarSchoolTime, type SchoolTime } from '../school/school-time.ts';
import { type FloorFor, profileFloor } from './profile-floor.ts';
import { AlertStore } from './store.ts';

export interface AlertServiceDeps {
  config: AlertsConfig;
  /** Its own connection to the collector's database. */
  store: Store;
  registry: Pick<Registry, 'listSites' | 'listDevices' | 'getSite'>;
  query: (q: string) => Promise<QueryResponse>;
  clock?: () => number;
  logger?: Logger;
  /** Default: the school calendar and target profiles of collector/school/. */
  school?: SchoolTime;
  floorFor?: FloorFor;
  holder?: string;
}

/** What the admin API and /healthz use. */
export interface Alerts {
  store: AlertStore;
  config: AlertsConfig;
  channelHealth(): ChannelHealth[];
  clock: () => number;
}

export class AlertService implements Alerts {
  readonly store: AlertStore;
  readonly engine: AlertEngine;
  readonly dispatcher: Dispatcher;
  readonly config: AlertsConfig;
  readonly clock: () => number;
  private readonly channels: Map<string, Channel>;
  private readonly holder: string;
  private timers: Periodic[] = [];
  private readonly logger?: Logger;

  constructor(deps: AlertServiceDeps) {
    this.config = deps.config;
    this.clock = deps.clock ?? Date.now;
    this.logger = deps.logger;
    this.holder = deps.holder ?? `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.store = new AlertStore(deps.store);
    const timeoutMs = deps.config.delivery.timeoutSeconds * 1000;
    this.channels = new Map(deps.config.channels.filter((c) => c.enabled).map((c) => [c.id, createChannel(c, { timeoutMs, clock: this.clock })]));
    const school = deps.school ?? calendarSchoolTime((code) => deps.registry.getSite(code));
    this.engine = new AlertEngine({
      config: deps.config, store: this.store, registry: deps.registry, query: deps.query, clock: this.clock, logger: deps.logger,
      school,
      floorFor: deps.floorFor ?? profileFloor((code) => deps.registry.getSite(code)),
      holder: this.holder,
    });
    this.dispatcher = new Dispatcher({ config: deps.config, store: this.store, channels: this.channels, clock: this.clock, logger: deps.logger, timeZone: school.timeZone });
  }

  channelHealth(): ChannelHealth[] {
    return this.dispatcher.health();
  }

  /** One evaluation, then one drain of the outbox (tests call this with a fake clock). */
  async runOnce(): Promise<{ tick: TickReport; dispatch?: DispatchReport }> {
    const tick = await this.engine.tick();
    if (!tick.evaluated) return { tick };
    return { tick, dispatch: await this.dispatcher.dispatch() };
  }

  /** Drains the outbox if this process holds the lease. */
  async drain(): Promise<DispatchReport | undefined> {
    if (!this.store.tryLease(LEASE, this.holder, this.clock(), this.config.evaluateEverySeconds * 2500)) return undefined;
    return this.dispatcher.dispatch();
  }

  start(drainEveryMs = 5000): void {
    // A failing tick or drain is logged and counted in /healthz (collector/periodic.ts), never swallowed.
    const logger = this.logger ? { logger: this.logger } : {};
    this.timers.push(periodic('alerts.tick', this.config.evaluateEverySeconds * 1000, () => this.engine.tick(), logger));
    this.timers.push(periodic('alerts.drain', drainEveryMs, () => this.drain(), logger));
  }

  async close(): Promise<void> {
    await Promise.all(this.timers.splice(0).map((t) => t.stop()));
    this.store.releaseLease(LEASE, this.holder);
    for (const c of this.channels.values()) c.close?.();
    this.store.db.close();
  }
}
