// The sockets a test proxy holds, so closing it ends every relayed connection (fault-proxy, tcp-balancer).
import type { Server, Socket } from 'node:net';

export interface TrackedSockets {
  /** Remembers `s` until it closes; an error destroys it instead of crashing the test process. */
  track(s: Socket): Socket;
  /** Destroys every socket still open, then closes `server`. */
  closeAll(server: Server): Promise<void>;
}

export function trackedSockets(): TrackedSockets {
  const sockets = new Set<Socket>();
  return {
    track(s) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
      return s;
    },
    closeAll: (server) =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
