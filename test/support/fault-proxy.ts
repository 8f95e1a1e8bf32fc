// A loopback TCP proxy in front of the collector that injects network faults and counts connections:
// `refuse` accepts and closes at once (the collector looks unreachable), `forward` relays both ways,
// `drop_response` relays the request but, at the first byte of the answer, cuts both sockets, so the
// collector has done its work (it answers only after InfluxDB's 2xx) and the agent never hears of it.
import { createServer, connect, type AddressInfo } from 'node:net';
import { trackedSockets } from './tracked-sockets.ts';

export type ProxyMode = 'refuse' | 'forward' | 'drop_response';

export interface FaultProxy {
  url: string;
  mode: ProxyMode;
  /** Connections accepted in each mode. */
  connections: Record<ProxyMode, number>;
  /** Answers the proxy cut off after the collector started sending them. */
  droppedResponses: number;
  close(): Promise<void>;
}

export async function startFaultProxy(upstreamPort: number, mode: ProxyMode = 'forward'): Promise<FaultProxy> {
  const { track, closeAll } = trackedSockets();
  const proxy: FaultProxy = {
    url: '',
    mode,
    connections: { refuse: 0, forward: 0, drop_response: 0 },
    droppedResponses: 0,
    close: () => closeAll(server),
  };
  const server = createServer((client) => {
    track(client);
    const mode = proxy.mode;
    proxy.connections[mode]++;
    if (mode === 'refuse') return void client.destroy();
    const upstream = track(connect({ host: '127.0.0.1', port: upstreamPort }));
    client.pipe(upstream);
    if (mode === 'forward') {
      upstream.pipe(client);
    } else {
      upstream.once('data', () => {
        proxy.droppedResponses++;
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
