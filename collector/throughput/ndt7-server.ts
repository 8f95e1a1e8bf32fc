// The collector's ndt7 server (m-lab/ndt-server spec/ndt7-protocol.md): /ndt/v7/download and
// /ndt/v7/upload over WebSocket with the subprotocol net.measurementlab.ndt.v7. What it follows and where it
// deviates is listed in docs/throughput.md ("ndt7 compliance").
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { refuseUpgrade, type RevocationGuard } from '../auth/ws-upgrade.ts';
import type { Admission } from './admission.ts';
import type { ThroughputStats } from './stats.ts';
import type { TestKind, ThroughputStore } from './store.ts';
import { type FloorBreach, type TransferFloor, watchTransfer } from './transfer-floor.ts';
import { payload } from '../../protocol/random-payload.ts';

export const NDT7_SUBPROTOCOL = 'net.measurementlab.ndt.v7';
export const NDT7_PATHS = new Set(['/ndt/v7/download', '/ndt/v7/upload']);

/** Spec figures: messages start at 8 KiB and double while smaller than 1/16 of what was sent, up to 16 MiB. */
export const MIN_MESSAGE = 1 << 13;
export const MAX_MESSAGE = 1 << 24;
const SCALING_FRACTION = 16;
/** The sender stops after 10 s; a test still open at 15 s is cut. */
export const TEST_DURATION_MS = 10_000;
export const HARD_LIMIT_MS = 15_000;
/** Measurements no more often than every 250 ms (spec); a little jitter avoids lock-step with the client. */
const MEASUREMENT_MIN_MS = 250;
const MEASUREMENT_JITTER_MS = 100;
const MAX_QUERY_BYTES = 4096;
/** Bytes handed to the socket but not yet written out, beyond which the sender waits. */
const SEND_HIGH_WATER = 1 << 20;

export interface Ndt7Deps {
  admit(req: IncomingMessage, url: URL, kind: TestKind, gone: AbortSignal): Promise<Admission & { caller?: { deviceId: string; siteCode: string; via: string } }>;
  /** Where a test's slot is given back (the service also closes its server-state window there). */
  store: Pick<ThroughputStore, 'endTest'>;
  stats: ThroughputStats;
  /** Minimum rate and idle timeout: a test under them is closed (1008) and its slot freed at once. */
  floor: TransferFloor;
  logger: Logger;
  now?: () => number;
  /** Closes a test (4401) when its device is revoked, whichever process revoked it. */
  guard?: Pick<RevocationGuard, 'watch'>;
}

/** The ndt7 measurement message (spec "Measurement message"); only what this server can honestly fill. */
export interface Ndt7Measurement {
  AppInfo?: { ElapsedTime: number; NumBytes: number };
  ConnectionInfo?: { Client: string; Server: string; UUID: string };
  Origin: 'server' | 'client';
  Test: 'download' | 'upload';
  TCPInfo?: { ElapsedTime: number; BytesReceived?: number };
}

/**
 * Metadata from the query string: at most 4096 bytes (else the upgrade gets 400), keys starting with
 * `server_` and repeated keys (after the first) ignored, as the spec asks. `access_token` is a credential,
 * never metadata.
 */
export function parseMetadata(url: URL, rawQuery: string): Record<string, string> | undefined {
  if (Buffer.byteLength(rawQuery) > MAX_QUERY_BYTES) return undefined;
  const meta: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key.startsWith('server_') || key === 'access_token' || Object.hasOwn(meta, key)) continue;
    meta[key.slice(0, 100)] = value.slice(0, 200);
  }
  return meta;
}

/**
 * Where a download stops early: M-Lab's `early_exit` (megabytes) and songcheck's `max_bytes` (bytes, so an
 * agent's data cap is never passed: without it a client that closes at its cap still receives what the
 * server had queued). The smaller wins; neither means the full 10 s.
 */
export function downloadLimit(meta: Record<string, string>): number {
  let limit = Infinity;
  const mb = Number(meta.early_exit);
  if (Number.isInteger(mb) && mb > 0 && mb <= 10_000) limit = mb * 1e6;
  const bytes = Number(meta.max_bytes);
  if (Number.isInteger(bytes) && bytes >= MIN_MESSAGE) limit = Math.min(limit, bytes);
  return limit;
}

function address(host: string | undefined, port: number | undefined): string {
  if (!host) return '';
  return host.includes(':') ? `[${host}]:${port ?? 0}` : `${host}:${port ?? 0}`;
}

export function createNdt7Server(deps: Ndt7Deps) {
  const now = deps.now ?? Date.now;
  const wss = new WebSocketServer({
    noServer: true,
    // Clients may send messages up to 1 << 24 bytes (spec); anything larger closes the connection (1009).
    maxPayload: MAX_MESSAGE,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(NDT7_SUBPROTOCOL) ? NDT7_SUBPROTOCOL : false),
  });
  const open = new Set<WebSocket>();

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, 'http://collector');
    const test = url.pathname === '/ndt/v7/download' ? 'download' : 'upload';
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(NDT7_SUBPROTOCOL)) {
      return refuseUpgrade(socket, 400, 'bad_request', `missing WebSocket subprotocol ${NDT7_SUBPROTOCOL}`);
    }
    const metadata = parseMetadata(url, rawUrl.slice(rawUrl.indexOf('?') + 1));
    if (!metadata) return refuseUpgrade(socket, 400, 'bad_request', 'query string longer than 4096 bytes');
    const gone = new AbortController();
    socket.once('close', () => gone.abort());
    const admission = await deps.admit(req, url, test === 'download' ? 'ndt7_download' : 'ndt7_upload', gone.signal);
    if (!('slot' in admission)) {
      // refuseUpgrade adds the device challenge to a 401 itself.
      const headers: Record<string, string> = admission.status === 401 ? {} : { 'retry-after': String(admission.retryAfterS ?? 30) };
      return refuseUpgrade(socket, admission.status, admission.code, admission.message, { headers });
    }
    if (gone.signal.aborted) return deps.store.endTest(admission.slot);
    wss.handleUpgrade(req, socket, head, (ws) => {
      open.add(ws);
      // A test token names its device too: revoking the device ends its open tests either way.
      if (admission.caller) deps.guard?.watch(ws, admission.caller.deviceId);
      const info = {
        Client: address(req.socket.remoteAddress, req.socket.remotePort),
        Server: address(req.socket.localAddress, req.socket.localPort),
        UUID: randomUUID(),
      };
      const log = deps.logger.child({ ndt7: test, uuid: info.UUID, device: admission.caller?.deviceId, via: admission.caller?.via });
      const run = test === 'download' ? runDownload : runUpload;
      const stopFloor = guardFloor(ws, test, log, () => void deps.store.endTest(admission.slot));
      void run(ws, info, metadata, log).finally(() => {
        stopFloor();
        open.delete(ws);
        void deps.store.endTest(admission.slot);
      });
    });
  }

  /**
   * The transfer floor (transfer-floor.ts) on the socket's own byte counts: what the kernel took for a
   * download (a client that stops reading stalls it), every byte read for an upload (a frame trickled one
   * byte at a time counts as the trickle it is). Under it the slot is freed at once and the socket closed
   * with 1008 and the reason, then cut a second later if the peer does not answer.
   */
  function guardFloor(ws: WebSocket, test: 'download' | 'upload', log: Logger, freeSlot: () => void): () => void {
    const socket = (ws as unknown as { _socket: Socket })._socket;
    const progress = test === 'download' ? () => socket.bytesWritten - socket.writableLength : () => socket.bytesRead;
    return watchTransfer(progress, deps.floor, (breach: FloorBreach) => {
      if (breach.reason === 'idle') deps.stats.budget.droppedIdle++;
      else deps.stats.budget.droppedTooSlow++;
      log.warn({ breach }, 'ndt7 test dropped under the transfer floor');
      freeSlot();
      if (ws.readyState === ws.OPEN) ws.close(1008, breach.reason === 'idle' ? 'idle: no data moved' : 'too slow: under the minimum transfer rate');
      setTimeout(() => ws.terminate(), 1_000).unref();
    }, now);
  }

  /** Resolves when the socket closes, however it closes. */
  function closed(ws: WebSocket): Promise<void> {
    return new Promise((resolve) => {
      if (ws.readyState === ws.CLOSED) return resolve();
      ws.once('close', () => resolve());
    });
  }

  /** Cuts a test still open at the hard limit: close politely, then terminate if the peer does not answer. */
  function hardLimit(ws: WebSocket): () => void {
    const t1 = setTimeout(() => ws.close(1000, 'ndt7 hard time limit'), HARD_LIMIT_MS);
    const t2 = setTimeout(() => ws.terminate(), HARD_LIMIT_MS + 2_000);
    return () => (clearTimeout(t1), clearTimeout(t2));
  }

  /** Pings from the client are answered by ws itself; more than 4 a second on average closes the test (1008). */
  function pingGuard(ws: WebSocket, start: number): void {
    let pings = 0;
    ws.on('ping', () => {
      pings++;
      if (pings > 8 + (now() - start) / MEASUREMENT_MIN_MS) ws.close(1008, 'ping messages too frequent');
    });
  }

  async function runDownload(ws: WebSocket, info: Ndt7Measurement['ConnectionInfo'] & object, meta: Record<string, string>, log: Logger): Promise<void> {
    const start = now();
    const socket = (ws as unknown as { _socket: Socket })._socket;
    let sent = 0;
    let size = MIN_MESSAGE;
    let failed = false;
    const byteLimit = downloadLimit(meta);
    const stopHard = hardLimit(ws);
    pingGuard(ws, start);
    // During a download the client must not send test data: a binary message closes the test (spec).
    ws.on('message', (_data: RawData, isBinary: boolean) => {
      if (isBinary) ws.close(1002, 'binary message during the download test');
    });
    ws.on('error', () => (failed = true));
    const done = closed(ws);
    // Bytes handed to the kernel: what is still queued in this process has not been sent.
    const measurement = (first: boolean): Ndt7Measurement => ({
      AppInfo: { ElapsedTime: Math.round((now() - start) * 1000), NumBytes: Math.max(0, sent - ws.bufferedAmount - socket.writableLength) },
      ...(first ? { ConnectionInfo: info } : {}),
      Origin: 'server',
      Test: 'download',
    });
    const sendText = (m: Ndt7Measurement) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(m));
    sendText(measurement(true));
    let nextMeasurement = start + MEASUREMENT_MIN_MS + Math.random() * MEASUREMENT_JITTER_MS;
    let stopped = false;
    void done.then(() => (stopped = true));
    for (let i = 0; i < 1e7 && !stopped && ws.readyState === ws.OPEN; i++) {
      const t = now();
      if (t - start >= TEST_DURATION_MS || sent >= byteLimit) break;
      if (t >= nextMeasurement) {
        sendText(measurement(false));
        nextMeasurement = t + MEASUREMENT_MIN_MS + Math.random() * MEASUREMENT_JITTER_MS;
      }
      if (size < MAX_MESSAGE && size <= sent / SCALING_FRACTION) size *= 2;
      // The last message is cut so a byte limit is never passed.
      const n = Math.min(size, byteLimit - sent);
      ws.send(payload(n), { binary: true });
      sent += n;
      // Yield now and then so close frames and timers are seen even while the kernel keeps accepting.
      if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
      if (socket.writableLength + ws.bufferedAmount > SEND_HIGH_WATER) {
        // Wait for the socket to drain, but wake up for the next measurement or the end of the test.
        await new Promise<void>((resolve) => {
          const wake = setTimeout(finish, Math.max(1, Math.min(nextMeasurement, start + TEST_DURATION_MS) - now()));
          function finish(): void {
            clearTimeout(wake);
            socket.off('drain', finish);
            resolve();
          }
          socket.once('drain', finish);
          void done.then(finish);
        });
      }
    }
    if (ws.readyState === ws.OPEN) {
      sendText(measurement(false));
      ws.close(1000, 'ndt7 test complete');
    }
    await done;
    stopHard();
    const seconds = Math.max(0.001, (now() - start) / 1000);
    if (failed) deps.stats.ndt7.failed++;
    else deps.stats.ndt7.completed++;
    log.info({ metadata: meta, bytes: sent, seconds, mbps: Math.round((sent * 8) / seconds / 1e4) / 100 }, 'ndt7 download finished');
  }

  async function runUpload(ws: WebSocket, info: Ndt7Measurement['ConnectionInfo'] & object, meta: Record<string, string>, log: Logger): Promise<void> {
    const start = now();
    const socket = (ws as unknown as { _socket: Socket })._socket;
    const bytesRead0 = socket.bytesRead;
    let received = 0;
    let failed = false;
    const stopHard = hardLimit(ws);
    pingGuard(ws, start);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) received += Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
      // Text messages are the client's own measurements: accepted and not needed.
    });
    ws.on('error', () => (failed = true));
    const done = closed(ws);
    const measurement = (first: boolean): Ndt7Measurement => {
      const elapsed = Math.round((now() - start) * 1000);
      return {
        AppInfo: { ElapsedTime: elapsed, NumBytes: received },
        ...(first ? { ConnectionInfo: info } : {}),
        Origin: 'server',
        Test: 'upload',
        // Node cannot read TCP_INFO; the bytes the socket has taken in are the one kernel-side figure it has.
        TCPInfo: { ElapsedTime: elapsed, BytesReceived: socket.bytesRead - bytesRead0 },
      };
    };
    let first = true;
    const tick = (): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (now() - start >= TEST_DURATION_MS) {
        ws.send(JSON.stringify(measurement(false)));
        ws.close(1000, 'ndt7 test complete');
        return;
      }
      ws.send(JSON.stringify(measurement(first)));
      first = false;
      timer = setTimeout(tick, MEASUREMENT_MIN_MS + Math.random() * MEASUREMENT_JITTER_MS);
    };
    let timer = setTimeout(tick, 0);
    await done;
    clearTimeout(timer);
    stopHard();
    const seconds = Math.max(0.001, (now() - start) / 1000);
    if (failed) deps.stats.ndt7.failed++;
    else deps.stats.ndt7.completed++;
    log.info({ metadata: meta, bytes: received, seconds, mbps: Math.round((received * 8) / seconds / 1e4) / 100 }, 'ndt7 upload finished');
  }

  return {
    upgrade,
    close(): void {
      for (const ws of open) ws.terminate();
      wss.close();
    },
  };
}
