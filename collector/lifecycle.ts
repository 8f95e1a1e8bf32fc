// How the collector's parts start and stop. The composition root (server.ts) starts its services one after
// the other, each getting what the earlier ones returned; they stop in the reverse order, so a part that
// writes while it stops (the control hub's presence, the evidence log's last day) still finds the store
// open, and the store closes last. A part that fails to start stops those started before it, so a bad
// calendar or alerts file never leaves a half-started collector behind.
//
// The agent has its own, smaller helper (agent/platform/lifecycle.ts, synchronous starts): the two sides
// share no code but protocol/, and a lifecycle is no contract between them.
import type { Logger } from 'pino';

interface Started {
  name: string;
  stop: () => unknown;
}

export class Services {
  private readonly started: Started[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /**
   * Starts one service and returns what `start` returned. `stop` is called with it when the collector stops
   * (or when a later service fails to start). When `start` throws, everything started before stops, in
   * reverse, and the error is thrown on.
   */
  async start<T>(name: string, start: () => T | Promise<T>, stop?: (service: T) => unknown): Promise<T> {
    if (this.stopping) throw new Error(`${name} cannot start: the collector is stopping`);
    let service: T;
    try {
      service = await start();
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (stop) this.started.push({ name, stop: () => stop(service) });
    return service;
  }

  /** Stops the started services in reverse; a failing stop is logged and the others still stop. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const service of this.started.reverse()) {
        try {
          await service.stop();
        } catch (err) {
          this.logger.warn({ err, service: service.name }, `${service.name}: shutdown failed`);
        }
      }
    })();
    return this.stopping;
  }
}

/** `fn` run at most once: later calls get the first call's promise (a stop begun early, awaited later). */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}
