// Multi-stream HTTP: K parallel connections to the collector's /api/v1/throughput endpoints, for links
// where one TCP stream under-reads (long RTT, loss, per-flow shaping). Download: we count the bytes the K
// sockets receive. Upload: the collector answers each POST with one JSON line per 100 ms of what it has
// received, with its own clock, so the rate is the receiver's.
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { API_PREFIX } from '../../../protocol/api.ts';
import { payload } from '../../../protocol/random-payload.ts';
import { describeError, resultCodeOf } from '../errors.ts';
import { requestFor } from '../../net/request-for.ts';
import { RateEstimator } from './estimator.ts';
import { controlLoop, verdict, type TransferOutcome, type TransferPlan } from './transfer.ts';

const CHUNK = 64 * 1024;
const SEND_HIGH_WATER = 128 * 1024;

interface Stream {
  req: ClientRequest;
  socket?: Socket;
  read0: number;
  written0: number;
  /** Upload: the server's latest count and time for this stream. */
  serverBytes: number;
  serverT: number;
  sent: number;
  received: number;
  ended: boolean;
  failure?: { code: TransferOutcome['code']; detail: string };
}

export async function runHttpMulti(base: string, token: string | undefined, streams: number, plan: TransferPlan, abortCode: TransferOutcome['code']): Promise<TransferOutcome> {
  const url = new URL(base);
  const request = await requestFor(url);
  return new Promise((resolve) => {
    const server = url.host;
    const estimator = new RateEstimator(plan.estimator);
    const t0 = performance.now();
    const perStream = Math.max(1, Math.floor(plan.capBytes / streams));
    const all: Stream[] = [];
    let stopping = false;
    let firstByteAt: number | undefined;
    let resolveFinished!: () => void;
    const finished = new Promise<void>((r) => (resolveFinished = r));
    const settle = () => {
      if (all.every((s) => s.ended)) resolveFinished();
    };
    const headers = { 'user-agent': 'songcheck-agent', ...(token ? { authorization: `Bearer ${token}` } : {}) };

    for (let i = 0; i < streams; i++) {
      const path = plan.direction === 'download' ? `${API_PREFIX}/throughput/download?bytes=${perStream}` : `${API_PREFIX}/throughput/upload`;
      const req = request(new URL(path, url), {
        method: plan.direction === 'download' ? 'GET' : 'POST',
        agent: false,
        timeout: plan.connectTimeoutMs,
        headers: plan.direction === 'download' ? { ...headers, 'accept-encoding': 'identity' } : { ...headers, 'content-type': 'application/octet-stream' },
      });
      const s: Stream = { req, read0: 0, written0: 0, serverBytes: 0, serverT: 0, sent: 0, received: 0, ended: false };
      all.push(s);
      const end = (failure?: Stream['failure']) => {
        if (failure && !stopping) s.failure ??= failure;
        if (s.ended) return;
        s.ended = true;
        settle();
      };
      req.on('socket', (socket: Socket) => {
        s.socket = socket;
        s.read0 = socket.bytesRead;
        s.written0 = socket.bytesWritten;
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no connection within ${plan.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => end({ code: resultCodeOf(err), detail: describeError(err) }));
      req.on('close', () => end(s.received === 0 && s.sent === 0 ? { code: 'reset', detail: 'connection closed before any data' } : undefined));
      req.on('response', (res: IncomingMessage) => {
        req.setTimeout(0);
        if (res.statusCode !== 200) {
          const retry = res.headers['retry-after'];
          end({ code: res.statusCode === 401 || res.statusCode === 503 || res.statusCode === 429 ? 'refused' : 'http_error', detail: `HTTP ${res.statusCode}${retry ? ` (retry after ${retry} s)` : ''}` });
          res.resume();
          return;
        }
        if (plan.direction === 'download') {
          res.on('data', (chunk: Buffer) => {
            s.received += chunk.length;
            firstByteAt ??= performance.now();
          });
          res.on('end', () => end());
          res.on('error', (err) => end({ code: resultCodeOf(err), detail: describeError(err) }));
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          pending += text;
          for (let cut = pending.indexOf('\n'); cut >= 0; cut = pending.indexOf('\n')) {
            const line = pending.slice(0, cut);
            pending = pending.slice(cut + 1);
            try {
              const m = JSON.parse(line) as { t?: number; bytes?: number };
              if (typeof m.t === 'number' && typeof m.bytes === 'number') {
                s.serverT = m.t;
                s.serverBytes = m.bytes;
              }
            } catch {
              // ignore a line we cannot read
            }
          }
        });
        res.on('end', () => end());
        res.on('error', (err) => end({ code: resultCodeOf(err), detail: describeError(err) }));
      });
      if (plan.direction === 'download') req.end();
      else void pump(s);
    }

    async function pump(s: Stream): Promise<void> {
      for (let i = 0; i < 1e7 && !stopping && !s.ended && s.sent < perStream; i++) {
        const n = Math.min(CHUNK, perStream - s.sent);
        s.req.write(payload(n));
        s.sent += n;
        firstByteAt ??= performance.now();
        // Wait (re-checking every 100 ms) until this stream's queue is under the high-water mark again.
        let w = 0;
        for (; w < 1e6 && !stopping && !s.ended && (s.req.writableLength > SEND_HIGH_WATER || (s.socket?.writableLength ?? 0) > SEND_HIGH_WATER); w++) {
          await new Promise<void>((r) => {
            const wake = setTimeout(done, 100);
            function done(): void {
              clearTimeout(wake);
              s.req.off('drain', done);
              r();
            }
            s.req.once('drain', done);
          });
        }
        if (w === 0 && i % 16 === 15) await new Promise((r) => setImmediate(r));
      }
      if (!s.ended) s.req.end();
    }

    const sample = () => {
      if (plan.direction === 'download') {
        let got = 0;
        for (const s of all) got += s.socket ? s.socket.bytesRead - s.read0 : 0;
        return { t: performance.now() - t0, bytes: got, moved: got };
      }
      // Receiver side: the sum of the streams' server counts, at the latest server time among them.
      let bytes = 0;
      let t = 0;
      let sent = 0;
      for (const s of all) {
        bytes += s.serverBytes;
        t = Math.max(t, s.serverT);
        sent += s.sent;
      }
      return t === 0 ? { t: 0, bytes: 0, moved: sent } : { t, bytes, moved: sent };
    };

    void controlLoop(plan, estimator, sample, finished).then(async ({ reason }) => {
      stopping = true;
      // What is still queued in this process never left: not sent, not charged.
      // (The request's queue and its socket's overlap: the larger of the two, not their sum.)
      const unsent = all.reduce((n, s) => n + (plan.direction === 'upload' ? Math.max(s.req.writableLength, s.socket?.writableLength ?? 0) : 0), 0);
      // Uploads: end the bodies so the server sends its last line; downloads: close the connections.
      for (const s of all) {
        if (plan.direction === 'download') s.req.destroy();
        else if (!s.ended) s.req.end();
      }
      const cut = setTimeout(() => all.forEach((s) => s.req.destroy()), 2_000);
      await Promise.race([finished, new Promise((r) => setTimeout(r, 2_500))]);
      clearTimeout(cut);
      const estimate = estimator.estimate();
      let socketBytes = 0;
      for (const s of all) if (s.socket) socketBytes += s.socket.bytesRead - s.read0 + (s.socket.bytesWritten - s.written0);
      socketBytes = Math.max(0, socketBytes - unsent);
      const bytes = Math.max(0, all.reduce((n, s) => n + (plan.direction === 'download' ? s.received : s.sent), 0) - unsent);
      const capReached = reason === undefined && bytes + unsent >= perStream * streams;
      let v = verdict(capReached ? 'byte_cap' : reason, estimate, plan.estimator.minSteadyMs, abortCode);
      const failures = all.map((s) => s.failure).filter((f): f is NonNullable<Stream['failure']> => f !== undefined);
      if (failures.length > 0 && (reason === undefined || v.code !== 'ok')) {
        const f = failures[0]!;
        v = { code: f.code, stopReason: bytes > 0 ? 'failed' : 'not_started', detail: `${failures.length} of ${streams} streams failed: ${f.detail}` };
      }
      resolve({
        ...v,
        bytes,
        socketBytes,
        estimate,
        durationMs: performance.now() - t0,
        server,
        streams,
        ...(firstByteAt !== undefined ? { firstByteAt } : {}),
      });
    });
  });
}
