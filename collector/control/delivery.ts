// What the control channel sends agents: the configuration meant for each (the newest version of its
// site, group or all) and the commands queued for it. Both may be stored by another process (the CLI, a
// worker, another collector), so this process polls the store, and polls at once when notified.
import type { Logger } from 'pino';
import type { Conn } from './connection.ts';
import { send } from './connection.ts';
import type { ControlStore } from './store.ts';

export class Delivery {
  // The configuration meant for each site, for the current newest version: a reconnect storm of 10 000
  // agents costs one query per site, not per agent. Emptied on a new version and at every flush (group edits).
  // The promise is cached, so agents of one site helloing together share one query.
  private readonly wantedBySite = new Map<string, ReturnType<ControlStore['effectiveConfig']>>();
  // Unknown until the first poll, which then offers every helloed agent its configuration (a no-op for
  // an agent that already runs it).
  private knownVersion = -1;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private closing = false;

  constructor(
    private readonly store: ControlStore,
    private readonly conns: ReadonlyMap<string, Conn>,
    private readonly logger: Logger,
  ) {}

  /** Forgets the cached configurations (a group's sites may have been edited). */
  forgetConfigs(): void {
    this.wantedBySite.clear();
  }

  /** Sends the connection its configuration when it does not run the one meant for it. */
  async deliverConfig(conn: Conn): Promise<void> {
    let pending = this.wantedBySite.get(conn.site.code);
    if (!pending) {
      pending = this.store.effectiveConfig(conn.site);
      this.wantedBySite.set(conn.site.code, pending);
      // A failed query is not remembered: the next delivery asks again.
      pending.catch(() => this.wantedBySite.delete(conn.site.code));
    }
    const wanted = await pending;
    if (!wanted || wanted.version === conn.configVersion) return;
    conn.configVersion = wanted.version;
    send(conn, { type: 'config', version: wanted.version, config: wanted.config });
    this.logger.info({ device: conn.deviceId, version: wanted.version, scope: wanted.scope }, 'configuration sent');
  }

  private async deliverCommands(): Promise<void> {
    for (const cmd of await this.store.pendingCommands()) {
      const conn = this.conns.get(cmd.deviceId);
      if (!conn?.helloed) continue;
      // Another process may hold a (stale) socket of the same device: only one of them moves it to sent.
      if (!(await this.store.markCommand(cmd.id, 'sent', undefined, 'pending'))) continue;
      send(conn, { type: 'command', id: cmd.id, command: cmd.command });
      this.logger.info({ device: conn.deviceId, command: cmd.id, kind: cmd.command.kind }, 'command sent');
    }
  }

  private async poll(): Promise<void> {
    const latest = await this.store.latestVersion();
    if (latest !== this.knownVersion) {
      this.knownVersion = latest;
      this.wantedBySite.clear();
      for (const conn of this.conns.values()) if (conn.helloed) await this.deliverConfig(conn);
    }
    await this.deliverCommands();
  }

  /** One poll at a time; a request while one runs (a notification, the timer) runs once more after it. */
  pollSoon(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = (async () => {
      try {
        do {
          this.pollAgain = false;
          await this.poll();
        } while (this.pollAgain && !this.closing);
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  /** No more polls after the one in progress, which this waits for. */
  async close(): Promise<void> {
    this.closing = true;
    await this.polling;
  }
}
