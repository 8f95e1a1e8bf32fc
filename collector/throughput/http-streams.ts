// The multi-stream HTTP method's server side: GET …/throughput/download?bytes=N sends N random bytes;
// POST …/throughput/upload counts and discards the body and, while it arrives, answers with one JSON line
// per 100 ms ({"t": epoch ms, "bytes": n}), so the agent sees receiver-side progress live. A proxy that
// buffers the answer still delivers the lines at the end, with the server's own timestamps.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Admission, ThroughputLimits } from './admission.ts';
import type { ThroughputStats } from './stats.ts';
import type { TestKind, ThroughputStore } from './store.ts';
import { type FloorBreach, watchTransfer } from './transfer-floor.ts';
import { payload } from '../../protocol/random-payload.ts';

interface StreamDeps {
  admit(req: IncomingMessage, url: URL, kind: TestKind, gone: AbortSignal): Promise<Admission>;
  store: Pick<ThroughputStore, 'endTest'>;
  stats: ThroughputStats;
  limits: ThroughputLimits;
  logger: Logger;
  now?: () => number;
}

const CHUNK = 64 * 1024;

function sendError(res: ServerResponse, status: number, code: string, message: string, retryAfterS?: number): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(retryAfterS ? { 'retry-after': String(retryAfterS) } : {}),
  });
  res.end(body);
}

/** Counts a connection dropped under the transfer floor and logs why. */
function dropped(deps: StreamDeps, kind: TestKind, breach: FloorBreach): void {
  if (breach.reason === 'idle') deps.stats.budget.droppedIdle++;
  else deps.stats.budget.droppedTooSlow++;
  deps.logger.warn({ kind, breach }, 'http stream dropped under the transfer floor');
}

function goneSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  const abort = () => ac.abort();
  res.once('close', abort);
  req.once('error', abort);
  return ac.signal;
}

export async function handleHttpDownload(req: IncomingMessage, res: ServerResponse, deps: StreamDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://collector');
  const raw = url.searchParams.get('bytes') ?? '';
  const bytes = Number(raw);
  if (!/^\d{1,12}$/.test(raw) || bytes < 1 || bytes > deps.limits.httpMaxBytes) {
    return sendError(res, 400, 'bad_request', `give ?bytes= between 1 and ${deps.limits.httpMaxBytes}`);
  }
  const gone = goneSignal(req, res);
  const admission = await deps.admit(req, url, 'http_download', gone);
  if (!('slot' in admission)) return sendError(res, admission.status, admission.code, admission.message, admission.retryAfterS);
  let sent = 0;
  const timer = setTimeout(() => res.destroy(), deps.limits.httpMaxMs);
  // What the kernel took: a client that stops reading stops it (transfer-floor.ts).
  const stopFloor = watchTransfer(() => sent - res.writableLength, deps.limits, (breach) => {
    dropped(deps, 'http_download', breach);
    res.destroy();
  }, deps.now);
  try {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(bytes),
      'cache-control': 'no-store, no-transform',
      'content-encoding': 'identity',
    });
    for (let i = 0; sent < bytes && !gone.aborted && i < 1e7; i++) {
      const n = Math.min(CHUNK, bytes - sent);
      sent += n;
      if (!res.write(payload(n))) {
        await new Promise<void>((resolve) => {
          const done = () => (res.off('drain', done), res.off('close', done), resolve());
          res.once('drain', done);
          res.once('close', done);
        });
      }
    }
    if (!gone.aborted) res.end();
    if (gone.aborted) deps.stats.http.failed++;
    else deps.stats.http.completed++;
  } catch (err) {
    deps.stats.http.failed++;
    deps.logger.warn({ err }, 'http download stream failed');
    res.destroy();
  } finally {
    clearTimeout(timer);
    stopFloor();
    void deps.store.endTest(admission.slot);
  }
}

export async function handleHttpUpload(req: IncomingMessage, res: ServerResponse, deps: StreamDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://collector');
  const now = deps.now ?? Date.now;
  const gone = goneSignal(req, res);
  const admission = await deps.admit(req, url, 'http_upload', gone);
  if (!('slot' in admission)) {
    sendError(res, admission.status, admission.code, admission.message, admission.retryAfterS);
    // Do not read a body we refused; close instead of draining megabytes.
    res.once('finish', () => req.destroy());
    return;
  }
  const slot = admission.slot;
  let received = 0;
  const startedAt = now();
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store, no-transform' });
  const line = (extra: object = {}) => res.write(JSON.stringify({ t: now(), bytes: received, ...extra }) + '\n');
  line({ start: startedAt });
  const ticker = setInterval(() => line(), 100);
  const hardLimit = setTimeout(() => finish('time_limit'), deps.limits.httpMaxMs);
  // Body bytes as they arrive: a trickled body is the trickle it is (transfer-floor.ts).
  const stopFloor = watchTransfer(() => received, deps.limits, (breach) => {
    dropped(deps, 'http_upload', breach);
    finish(breach.reason);
  }, deps.now);
  let finished = false;
  function finish(reason: 'done' | 'time_limit' | 'byte_cap' | 'aborted' | FloorBreach['reason']): void {
    if (finished) return;
    finished = true;
    clearInterval(ticker);
    clearTimeout(hardLimit);
    stopFloor();
    void deps.store.endTest(slot);
    if (reason === 'aborted') {
      deps.stats.http.failed++;
      return;
    }
    if (reason === 'idle' || reason === 'too_slow') deps.stats.http.failed++;
    else deps.stats.http.completed++;
    line({ done: true, reason });
    res.end();
    if (reason !== 'done') {
      res.once('finish', () => req.destroy());
      // A client that does not read the answer either is cut all the same.
      setTimeout(() => req.destroy(), 1_000).unref();
    }
  }
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received >= deps.limits.httpMaxBytes) finish('byte_cap');
  });
  req.once('end', () => finish('done'));
  req.once('aborted', () => finish('aborted'));
  gone.addEventListener('abort', () => finish('aborted'), { once: true });
}
