// The options schema of every probe, by probe name: the "config" half of a probe's registration (the
// OpenTelemetry Collector's factory/config split). Whatever validates a configuration (the agent reading
// config.yaml, the collector checking a pushed one) needs only these schemas, never the code that measures;
// the implementations are registered in agent/probes/registry.ts, one line each, under the same names.
import { DnsOptions } from './dns.ts';
import { GatewayOptions } from './gateway.ts';
import { HttpOptions } from './http.ts';
import { IcmpOptions } from './icmp.ts';
import { TcpOptions } from './tcp.ts';
import { ThroughputOptions } from './throughput.ts';

export const PROBE_OPTIONS = Object.freeze({
  tcp: TcpOptions,
  http: HttpOptions,
  dns: DnsOptions,
  icmp: IcmpOptions,
  gateway: GatewayOptions,
  throughput: ThroughputOptions,
});
export type ScheduledProbeName = keyof typeof PROBE_OPTIONS;
export const SCHEDULED_PROBES = Object.keys(PROBE_OPTIONS) as ScheduledProbeName[];

/** Whether `name` is a probe an agent config can schedule (own keys only: "toString" is not a probe). */
export function isScheduledProbe(name: string): name is ScheduledProbeName {
  return Object.hasOwn(PROBE_OPTIONS, name);
}

export { DnsOptions, GatewayOptions, HttpOptions, IcmpOptions, TcpOptions, ThroughputOptions };
