// The "host:port" grammar of configured targets (tcp probe targets, connectivity.outsideTargets): the
// configuration schema checks it on both sides, and the agent's probes parse targets with it.
import { isIP } from 'node:net';

export interface HostPort {
  /** Hostname or IP literal, without brackets. */
  host: string;
  port: number;
}

/** Parses "host:port", "1.2.3.4:80" or "[::1]:443". An unbracketed IPv6 literal is refused: its port is ambiguous. */
export function parseHostPort(target: string): HostPort | { error: string } {
  const m = /^\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]:(\d{1,5})$/.exec(target) ?? /^([^\s:[\]]+):(\d{1,5})$/.exec(target);
  if (!m) return { error: `target must be host:port or [ipv6]:port, got ${JSON.stringify(target.slice(0, 80))}` };
  const host = m[1] as string;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return { error: `port out of range: ${port}` };
  if (target.startsWith('[') && isIP(host.replace(/%.*$/, '')) !== 6) return { error: `not an IPv6 literal: ${host}` };
  return { host, port };
}
