// Builds the uptime monitor from the agent's config and identity (the one thing agent.ts calls).
import { isIP } from 'node:net';
import type { Result } from '../../protocol/results.ts';
import { collectorEndpoint } from '../probes/target.ts';
import { checkConnectivity, type CheckTargets } from './check.ts';
import { DEFAULT_DNS_NAME, type ConnectivityConfig } from '../../protocol/connectivity-config.ts';
import { systemClocks } from './lifecycle.ts';
import { createUptimeMonitor, type UptimeMonitor } from './monitor.ts';

export interface ConnectivityDeps {
  config: ConnectivityConfig;
  collectorUrl: string | undefined;
  stateFile: string;
  deviceId: string;
  record(result: Result): void;
  /** The agent's wall clock, corrected by the control channel's offset, so slot and outage times are too. */
  now?: () => number;
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

/** What the checks connect to and look up. */
export function checkTargets(config: ConnectivityConfig, collectorUrl: string | undefined): CheckTargets {
  const c = collectorEndpoint(collectorUrl);
  const dnsName = config.dnsName ?? (c && isIP(c.host) === 0 ? c.host : DEFAULT_DNS_NAME);
  return { ...(c ? { collector: { host: c.host, port: c.port } } : {}), outside: config.outsideTargets, dnsName, timeoutMs: config.timeoutSeconds * 1000 };
}

/** A short, id-safe suffix that keeps deterministic result ids unique per device. */
export const deviceTagOf = (deviceId: string): string => deviceId.replace(/[^0-9A-Za-z]/g, '').slice(-10) || 'device';

/** undefined when the check is disabled. */
export function createConnectivityMonitor(deps: ConnectivityDeps): UptimeMonitor | undefined {
  if (!deps.config.enabled) return undefined;
  const targets = checkTargets(deps.config, deps.collectorUrl);
  return createUptimeMonitor({
    stateFile: deps.stateFile,
    intervalMs: deps.config.intervalSeconds * 1000,
    deviceTag: deviceTagOf(deps.deviceId),
    check: (signal) => checkConnectivity(targets, signal),
    record: deps.record,
    ...(deps.now ? { clocks: { ...systemClocks, wall: deps.now } } : {}),
    log: { warn: (msg) => deps.log.warn({}, msg), debug: (obj, msg) => deps.log.debug(obj, msg) },
  });
}
