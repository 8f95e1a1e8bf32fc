// A loopback TCP load balancer in failover mode, standing in for HAProxy's `backup` servers or nginx's
// upstream with `backup` (docs/deployment.md): each new connection goes to the first upstream that
// accepts it, in order; connections already relayed die with their upstream, and the clients' retries
// reach the next one. Counts connections per upstream port.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { trackedSockets } from './tracked-sockets.ts';

export interface TcpBalancer {
  url: string;
  /** Connections relayed, by upstream port. */
  connections: Map<number, number>;
  close(): Promise<void>;
}

export async function startTcpBalancer(upstreamPorts: number[]): Promise<TcpBalancer> {
  const { track, closeAll } = trackedSockets();
  const connections = new Map<number, number>();
  const relay = (client: Socket, index: number): void => {
    const port = upstreamPorts[index];
    if (port === undefined) return void client.destroy();
    const upstream = connect({ host: '127.0.0.1', port });
    const failover = (): void => {
      upstream.destroy();
      // Refused (that collector is down): the next one, if the client is still there.
      if (!client.destroyed) relay(client, index + 1);
    };
    upstream.once('error', failover);
    upstream.once('connect', () => {
      upstream.off('error', failover);
      track(upstream);
      connections.set(port, (connections.get(port) ?? 0) + 1);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.resume();
    });
  };
  const server = createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    relay(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    close: () => closeAll(server),
  };
}
