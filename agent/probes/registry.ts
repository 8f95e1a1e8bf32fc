// The one place probes are registered: adding a probe is one folder under agent/probes/ and one line here.
import { dnsProbe } from './dns/index.ts';
import { gatewayProbe } from './gateway/index.ts';
import { httpProbe } from './http/index.ts';
import { icmpProbe } from './icmp/index.ts';
import { tcpProbe } from './tcp/index.ts';
import { throughputProbe } from './throughput/index.ts';
import type { Probe } from './types.ts';

export const PROBES: Readonly<Record<string, Probe<unknown>>> = Object.freeze({
  tcp: tcpProbe,
  http: httpProbe,
  dns: dnsProbe,
  icmp: icmpProbe,
  gateway: gatewayProbe as Probe<unknown>,
  throughput: throughputProbe as Probe<unknown>,
});

/** The probe registered under `name`; throws for an unknown name (config validation names the known ones). */
export function getProbe(name: string): Probe<unknown> {
  const probe = Object.hasOwn(PROBES, name) ? PROBES[name] : undefined;
  if (!probe) throw new Error(`unknown probe '${name}' (known: ${Object.keys(PROBES).join(', ')})`);
  return probe;
}
