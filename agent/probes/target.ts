import { isIP } from 'node:net';

/** Formats a host for a "host:port" target, bracketing IPv6 literals so the port stays unambiguous. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
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
