// The control benchmark's reference: a bare `ws` server that answers each heartbeat with the same
// acknowledgement the collector sends, and does nothing else (no auth, no presence, no SQLite, no Hono).
// Prints its port on stdout.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const server = createServer((_req, res) => res.end());
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 256 * 1024 });
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.send(JSON.stringify({ type: 'welcome', v: 1, deviceId: 'echo', site: 'echo', heartbeatSeconds: 30 }));
  ws.on('message', (data) => {
    const t1 = Date.now();
    const msg = JSON.parse(data.toString()) as { type: string; seq: number; t0: number };
    if (msg.type === 'heartbeat') ws.send(JSON.stringify({ type: 'heartbeat_ack', seq: msg.seq, t0: msg.t0, t1, t2: Date.now() }));
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
