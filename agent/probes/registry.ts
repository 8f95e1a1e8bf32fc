// The one place probe implementations are registered: adding a probe is one folder under agent/probes/, its
// options schema in protocol/probe-options/ (with one line there) and one line here. The names must be those
// of protocol/probe-options/index.ts; the type below fails to compile when the two lists differ.
import type { z } from 'zod';
import type { PROBE_OPTIONS, ScheduledProbeName } from '../../protocol/probe-options/index.ts';
import { dnsProbe } from './dns/index.ts';
import { gatewayProbe } from './gateway/index.ts';
import { httpProbe } from './http/index.ts';
import { icmpProbe } from './icmp/index.ts';
import { tcpProbe } from './tcp/index.ts';
import { throughputProbe } from './throughput/index.ts';
import type { Probe } from './types.ts';

type Registered = { readonly [K in ScheduledProbeName]: Probe<z.infer<(typeof PROBE_OPTIONS)[K]>> };

export const PROBES: Registered = Object.freeze({
  tcp: tcpProbe,
  http: httpProbe,
  dns: dnsProbe,
  icmp: icmpProbe,
  gateway: gatewayProbe,
  throughput: throughputProbe,
});

/** The probe registered under `name`; throws for an unknown name (config validation names the known ones). */
export function getProbe(name: string): Probe<unknown> {
  const probe = Object.hasOwn(PROBES, name) ? (PROBES as Readonly<Record<string, Probe<never>>>)[name] : undefined;
  if (!probe) throw new Error(`unknown probe '${name}' (known: ${Object.keys(PROBES).join(', ')})`);
  return probe as Probe<unknown>;
}
