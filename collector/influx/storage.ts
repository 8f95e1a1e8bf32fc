// The collector's InfluxDB layout: which measurement and `method` tag each kind of result is stored under.
// The collector's business only (agents never see it), so it lives here and not in protocol/.
import type { ProbeName, Result } from '../../protocol/results.ts';

/**
 * Where each probe's results are stored: the InfluxDB measurement and the `method` tag.
 * TCP and ICMP share `latency` so one panel can compare methods.
 */
export const STORAGE: Record<ProbeName, { measurement: string; method: string }> = {
  tcp: { measurement: 'latency', method: 'tcp_connect' },
  icmp: { measurement: 'latency', method: 'icmp_echo' },
  http: { measurement: 'http', method: 'http_get' },
  dns: { measurement: 'dns', method: 'dns_query' },
  agent_health: { measurement: 'agent_health', method: 'self' },
  device_facts: { measurement: 'device_facts', method: 'systeminformation' },
  // The path to the router: not `latency`, whose tcp_connect rows are the operator's evidence.
  gateway: { measurement: 'lan', method: 'tcp_connect' },
  // The method of a throughput result is its own `method` (ndt7 or http_multistream); this is the fallback.
  throughput: { measurement: 'throughput', method: 'ndt7' },
  uptime: { measurement: 'uptime', method: 'connectivity_check' },
  outage: { measurement: 'outage', method: 'connectivity_check' },
  agent_event: { measurement: 'agent_event', method: 'self' },
};

/** Measurement, method tag and any extra tags of one result: throughput adds `direction`, outage `kind`, agent_event `event`. */
export function storageOf(result: Result): { measurement: string; method: string; tags?: [string, string][] } {
  switch (result.probe) {
    case 'throughput':
      return { measurement: 'throughput', method: result.method, tags: [['direction', result.direction]] };
    case 'outage':
      return { ...STORAGE.outage, tags: [['kind', result.kind]] };
    case 'agent_event':
      return { ...STORAGE.agent_event, tags: [['event', result.event]] };
    default:
      return STORAGE[result.probe];
  }
}
