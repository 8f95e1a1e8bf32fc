// Child process of the control benchmark (bench/control.ts): opens many control-channel connections to
// one server, then sends heartbeats and times each acknowledgement. Reads its work from the environment
// and reports one JSON line per phase on stdout. Run by the parent through `node --import tsx`.
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';

const url = process.env.BENCH_URL!;
const tokens = (JSON.parse(readFileSync(process.env.BENCH_TOKENS!, 'utf8')) as string[]).slice(Number(process.env.BENCH_FROM), Number(process.env.BENCH_TO));
const heartbeatMs = Number(process.env.BENCH_HEARTBEAT_S) * 1000;
const warmupMs = Number(process.env.BENCH_WARMUP_S) * 1000;
const windowMs = Number(process.env.BENCH_WINDOW_S) * 1000;
/** Attempts per connection (503 from admission control is retried after Retry-After). */
const MAX_ATTEMPTS = 20;

const report = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Conn {
  ws: WebSocket;
  sent: Map<number, number>;
}
const conns: Conn[] = [];
const rtts: number[] = [];
/** Client send → server reply sent (t2 − t0, one machine clock, ms resolution): leaves out the clients' own receive-side delay. */
const serverSide: number[] = [];
let measuring = false;
let shed = 0;
let failed = 0;
let acks = 0;
let closed = 0;

function open(token: string): Promise<WebSocket | { status: number; retryAfterS: number } | Error> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => {
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode ?? 0, retryAfterS: Number(res.headers['retry-after'] ?? 1) });
    });
    ws.once('error', (err) => resolve(err));
  });
}

async function connect(token: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const r = await open(token);
    if (r instanceof WebSocket) {
      const conn: Conn = { ws: r, sent: new Map() };
      r.on('error', () => {});
      r.on('close', () => closed++);
      r.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { type: string; seq?: number; t0?: number; t2?: number };
        if (msg.type === 'welcome') r.send(JSON.stringify({ type: 'hello', v: 1, agentVersion: '0.0.0-bench', configVersion: 0 }));
        if (msg.type !== 'heartbeat_ack') return;
        const t = conn.sent.get(msg.seq!);
        conn.sent.delete(msg.seq!);
        acks++;
        if (t !== undefined && measuring) {
          rtts.push(performance.now() - t);
          serverSide.push(msg.t2! - msg.t0!);
        }
      });
      conns.push(conn);
      return;
    }
    if (r instanceof Error) {
      await sleep(200 + Math.random() * 800);
      continue;
    }
    shed++;
    await sleep(r.retryAfterS * 1000 * Math.random() + 100);
  }
  failed++;
}

const started = performance.now();
// 200 handshakes in flight at a time: enough to find the server's admission limit, not a SYN flood.
let next = 0;
await Promise.all(Array.from({ length: Math.min(200, tokens.length) }, async () => {
  while (next < tokens.length) await connect(tokens[next++]!);
}));
report({ phase: 'connected', connections: conns.length, failed, shed, ms: Math.round(performance.now() - started) });

let seq = 0;
const timers = conns.map((conn) => {
  // Each connection beats on its own phase, so the load is even over the interval, as a fleet's is.
  const beat = () => {
    const s = seq++;
    conn.sent.set(s, performance.now());
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify({ type: 'heartbeat', seq: s, t0: Date.now() }));
    if (conn.sent.size > 10) conn.sent.clear(); // unanswered ones are counted as lost below, not kept
  };
  const first = setTimeout(() => {
    beat();
    timers.push(setInterval(beat, heartbeatMs));
  }, Math.random() * heartbeatMs);
  return first;
});
await sleep(warmupMs);
measuring = true;
const sentAtStart = seq;
const acksAtStart = acks;
await sleep(windowMs);
measuring = false;
report({ phase: 'done', connections: conns.length, closed, heartbeats: seq - sentAtStart, acks: acks - acksAtStart, rtts: rtts.map((x) => Math.round(x * 100) / 100), serverSide });
for (const t of timers) clearTimeout(t);
for (const c of conns) c.ws.terminate();
process.exit(0);
