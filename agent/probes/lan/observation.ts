// One look at the path to the router: the local link and the router's idle round trip. The latest look is
// kept in memory for the other probes of this agent (a latency run compares its round trip with it).
import type { LatencyFields } from '../../../protocol/results.ts';
import { lanVerdictForLatency } from './attribution.ts';
import { answeringPort, GATEWAY_PORTS, handshakeRun } from './handshake.ts';
import { type LocalLink, readLocalLink } from '../../net/local-link.ts';

export interface LanObservation {
  at: number;
  link: LocalLink;
  /** The port the router answered on; absent when it answered on none (all lost). */
  port?: number;
  idle: LatencyFields;
}

export interface ObserveOptions {
  count: number;
  intervalMs: number;
  timeoutMs: number;
  ports?: number[];
  now?: () => number;
  /** For tests: the link as read elsewhere (a lab namespace has no Wi-Fi to read). */
  link?: LocalLink;
}

let latest: LanObservation | undefined;

/** undefined when there is no default route (or the OS is not supported). */
export async function observeLan(signal: AbortSignal, o: ObserveOptions): Promise<LanObservation | undefined> {
  const link = o.link ?? (await readLocalLink(Math.max(1_000, o.timeoutMs)));
  if (!link) return undefined;
  const at = (o.now ?? Date.now)();
  const port = await answeringPort(link.gateway, o.ports ?? GATEWAY_PORTS, o.timeoutMs, signal);
  const idle: LatencyFields = port === undefined ? { sent: o.count, received: 0, loss_pct: 100 } : await handshakeRun(link.gateway, port, o.count, o.intervalMs, o.timeoutMs, signal);
  const obs: LanObservation = { at, link, ...(port !== undefined ? { port } : {}), idle };
  latest = obs;
  return obs;
}

/** The latest observation if younger than maxAgeMs. */
export function latestLan(now: number, maxAgeMs: number): LanObservation | undefined {
  return latest && now - latest.at <= maxAgeMs ? latest : undefined;
}

/** How old the router's latest look may be for a latency run to compare with it (the gateway probe runs every 5 min). */
export const LAN_LOOK_MAX_AGE_MS = 10 * 60_000;

/** A latency run's figures with the router's latest round trip and, when it took most of the run's, the LAN flag. */
export function withLanAttribution(fields: LatencyFields, now: number): LatencyFields {
  const look = latestLan(now, LAN_LOOK_MAX_AGE_MS);
  const gw = look?.idle.rtt_median_ms;
  if (!look || gw === undefined) return fields;
  const v = lanVerdictForLatency({ link: look.link, gatewayRttMs: gw, serverRttMs: fields.rtt_median_ms });
  return { ...fields, gateway_rtt_ms: gw, ...(v.bottleneck ? { lan_bottleneck: true, lan_reason: v.reason! } : {}) };
}
