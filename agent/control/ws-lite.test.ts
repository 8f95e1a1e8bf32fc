// The agent's minimal WebSocket client against the real `ws` server the collector uses, on loopback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventually } from '../../test/support/processes.ts';
import { LiteSocket } from './ws-lite.ts';

let server: Server;
let wss: WebSocketServer;
const open: LiteSocket[] = [];

async function start(onConnection: (ws: WebSocket) => void, refuse?: number): Promise<URL> {
  server = createServer((_req, res) => res.end());
  wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  server.on('upgrade', (req, socket, head) => {
    if (refuse) return void socket.end(`HTTP/1.1 ${refuse} Busy\r\nretry-after: 7\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    if (req.headers.authorization !== 'Bearer t') return void socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      onConnection(ws);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return new URL(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/c`);
}

function connect(url: URL, token = 't', maxPayload = 4096) {
  const ws = new LiteSocket(url, { headers: { authorization: `Bearer ${token}` }, maxPayload, handshakeTimeoutMs: 5000 });
  open.push(ws);
  const got = { messages: [] as string[], close: undefined as [number, string] | undefined, refused: undefined as number | undefined, retryAfter: undefined as string | undefined, opened: false };
  ws.on('open', () => (got.opened = true));
  ws.on('message', (m) => got.messages.push(m));
  ws.on('close', (code, reason) => (got.close = [code, reason]));
  ws.on('refused', (res) => ((got.refused = res.statusCode), (got.retryAfter = res.headers['retry-after'] as string)));
  ws.on('error', () => {});
  return { ws, got };
}

afterEach(async () => {
  for (const ws of open.splice(0)) ws.terminate();
  wss?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('ws-lite client', () => {
  it('exchanges text messages both ways, whole and fragmented, large and small, and answers pings', async () => {
    const received: string[] = [];
    let pong = false;
    const url = await start((ws) => {
      ws.on('message', (d) => received.push(d.toString()));
      ws.on('pong', () => (pong = true));
      ws.send('hello');
      ws.send('frag-', { fin: false });
      ws.send('mented', { fin: true });
      ws.send('é'.repeat(200)); // 400 bytes: a 16-bit length
      ws.ping();
    });
    const { ws, got } = connect(url);
    await eventually(() => (got.messages.length === 3 ? true : undefined), 5000, 'three messages');
    expect(got.messages).toEqual(['hello', 'frag-mented', 'é'.repeat(200)]);
    ws.send('x'.repeat(70)); // masked, 7-bit length
    ws.send('y'.repeat(300)); // masked, 16-bit length
    await eventually(() => (received.length === 2 && pong ? true : undefined), 5000, 'the server to read both and the pong');
    expect(received).toEqual(['x'.repeat(70), 'y'.repeat(300)]);
  });

  it('reports the close code and reason the server sends, and closes with 1009 on a message over the cap', async () => {
    const url = await start((ws) => ws.close(4401, 'device revoked'));
    const a = connect(url);
    await eventually(() => a.got.close, 5000, 'the close');
    expect(a.got.close).toEqual([4401, 'device revoked']);

    wss.removeAllListeners();
    const url2 = await (async () => {
      await new Promise((resolve) => server.close(resolve));
      return start((ws) => ws.send('z'.repeat(5000)));
    })();
    const b = connect(url2, 't', 4096);
    await eventually(() => b.got.close, 5000, 'the close');
    expect(b.got.close![0]).toBe(1009);
  });

  it('hands back a refused handshake with its status and Retry-After', async () => {
    const url = await start(() => {});
    const bad = connect(url, 'wrong');
    await eventually(() => bad.got.close, 5000, 'the close');
    expect(bad.got.refused).toBe(401);
    expect(bad.got.opened).toBe(false);
    await new Promise((resolve) => server.close(resolve));
    const busy = connect(await start(() => {}, 503));
    await eventually(() => busy.got.close, 5000, 'the close');
    expect(busy.got).toMatchObject({ refused: 503, retryAfter: '7' });
  });
});
