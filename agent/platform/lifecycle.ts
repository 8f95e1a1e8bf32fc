// How the agent's parts start and stop. A composition root lists its services in start order; they stop in
// the reverse order, so whatever a part writes while stopping (the uptime stop event, the last uploads)
// still finds the parts it needs (the queue) open. One helper, so every level of the agent (the process in
// agent/run.ts, the control channel around the measuring core, the core itself) stops the same way.

export interface Service {
  /** For the log line when its stop fails. */
  readonly name: string;
  start?(): void;
  stop?(): void | Promise<void>;
}

export interface Running {
  /** Stops the started services in reverse; each one's failure is reported and the rest still stop. Idempotent. */
  stop(): Promise<void>;
}

/** A service's start threw; those started before it are being stopped (`stopped` settles when they are). */
export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    override readonly cause: unknown,
    readonly stopped: Promise<void>,
  ) {
    super(`${service} could not start: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * Starts the services in order. When one fails to start, those already started are stopped (in reverse)
 * and a ServiceStartError is thrown, so a half-started agent never keeps running.
 */
export function startServices(services: readonly Service[], onStopError: (name: string, err: unknown) => void): Running {
  const started: Service[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const service of started.reverse()) {
        try {
          await service.stop?.();
        } catch (err) {
          onStopError(service.name, err);
        }
      }
    })();
    return stopping;
  };
  for (const service of services) {
    try {
      service.start?.();
    } catch (err) {
      throw new ServiceStartError(service.name, err, stop());
    }
    started.push(service);
  }
  return { stop };
}
