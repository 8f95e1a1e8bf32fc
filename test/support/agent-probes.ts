// Shared by the probes' unit tests: loopback servers and a pinned clock, nothing that fakes the network.
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { ProbeRunContext } from '../../agent/probes/types.ts';

export const PINNED_NOW = Date.UTC(2025, 8, 1, 3, 0, 0);

export function ctxWith(signal: AbortSignal = new AbortController().signal): ProbeRunContext {
  return { signal, now: () => PINNED_NOW };
}

export async function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A loopback port with nothing listening: bound by us, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
