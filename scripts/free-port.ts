// A free TCP port for a server a test, bench or the demo starts (InfluxDB, PostgreSQL, a collector).
import net from 'node:net';

/** A port that was free a moment ago (bind :0, read it, close). The caller retries if it is gone by then. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read a free port'))));
    });
  });
}
