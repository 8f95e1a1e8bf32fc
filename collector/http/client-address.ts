// The address a request came from, for limits that must apply before anyone is authenticated. Behind a
// reverse proxy every connection comes from the proxy, so with `trustProxy` the address is the last entry
// of X-Forwarded-For: the one the proxy itself saw. Earlier entries are whatever the client wrote and are
// never trusted. Without a socket (tests using app.request) the address is "unknown".
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';

export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for');
    const last = forwarded?.split(',').at(-1)?.trim();
    if (last) return last.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
