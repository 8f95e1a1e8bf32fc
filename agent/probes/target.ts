import { isIP } from 'node:net';

export interface HostPort {
  /** Hostname or IP literal, without brackets. */
  host: string;
  port: number;
}

/** Formats a host for a "host:port" target, bracketing IPv6 literals so the port stays unambiguous. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
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

export interface CollectorEndpoint {
  /** Hostname or IP literal, without brackets. */
  host: string;
  port: number;
  /** The base URL without a trailing slash. */
  base: string;
}

/** Where the collector listens, from its base URL; undefined when there is no usable URL. */
export function collectorEndpoint(collectorUrl: string | undefined): CollectorEndpoint | undefined {
  if (!collectorUrl) return undefined;
  let url: URL;
  try {
    url = new URL(collectorUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  // WHATWG URL keeps the brackets of an IPv6 host; sockets and resolvers want the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host, port, base: collectorUrl.replace(/\/+$/, '') };
}
