// A sender that streams a large chunked body slowly to a real socket and stops as soon as the server
// answers or closes: how the hostile-device tests see whether a body was read before authentication.
import net from 'node:net';

/** What the tests send at most: 30 MB, 64 KiB a chunk. */
export const TOTAL = 30 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

export interface Outcome { status: number; head: string; sentBeforeAnswer: number; sentTotal: number; closedByServer: boolean }

/** Sends up to 30 MB chunked, a chunk at a time, and stops as soon as the server answers or closes. */
export async function chunkedPost(port: number, path: string, headers: Record<string, string>): Promise<Outcome> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let answer = '';
  let sentBeforeAnswer = -1;
  let sent = 0;
  let closed = false;
  socket.on('data', (d: Buffer) => {
    if (sentBeforeAnswer < 0) sentBeforeAnswer = sent;
    answer += d.toString('latin1');
  });
  socket.on('error', () => { closed = true; });
  socket.on('close', () => { closed = true; });
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n${lines}\r\n`);
  for (let i = 0; sent < TOTAL && i < TOTAL / CHUNK.length + 1; i++) {
    if (closed || sentBeforeAnswer >= 0) break;
    const ok = socket.write(`${CHUNK.length.toString(16)}\r\n`) && socket.write(CHUNK) && socket.write('\r\n');
    sent += CHUNK.length;
    // Slowly: let the server run between chunks, and wait for the socket to drain when it pushes back.
    if (!ok) await Promise.race([new Promise((r) => socket.once('drain', r)), new Promise((r) => setTimeout(r, 2000))]);
    else await new Promise((r) => setImmediate(r));
  }
  // Bounded wait for the server to close the connection after its answer.
  for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
  const closedByServer = closed;
  socket.destroy();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
  return { status, head: answer.split('\r\n\r\n')[0] ?? '', sentBeforeAnswer, sentTotal: sent, closedByServer };
}
