// The options schema of every probe, by probe name: the "config" half of a probe's registration (the
// OpenTelemetry Collector's factory/config split). Whatever validates a configuration (the agent reading
// config.yaml, the collector checking a pushed one) needs only these schemas, never the code that measures;
// the implementations are registered in agent/probes/registry.ts, one line each, under the same names.
import type { z } from 'zod';
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

/**
 * Options that name a file the agent would execute or trust (a program, a CA bundle). Only the person at the
 * school who writes config.yaml may set them: a pushed configuration that sets one is refused
 * (remote-config.ts), so whoever holds the admin token cannot choose a program every agent runs (as
 * LocalSystem on Windows) or a certificate every agent trusts. A new option of that kind is listed here;
 * probe-options.test.ts fails when an option whose name says file, path, program or certificate is not.
 */
export const LOCAL_ONLY_OPTIONS: { readonly [P in ScheduledProbeName]?: readonly (keyof z.infer<(typeof PROBE_OPTIONS)[P]> & string)[] } = Object.freeze({
  icmp: ['binary'],
  http: ['caFile'],
});

export { DnsOptions, GatewayOptions, HttpOptions, IcmpOptions, TcpOptions, ThroughputOptions };
