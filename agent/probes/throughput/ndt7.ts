// ndt7 client (m-lab/ndt-server spec/ndt7-protocol.md): one WebSocket per direction, subprotocol
// net.measurementlab.ndt.v7. Download: the receiver (us) counts bytes off the socket. Upload: we send
// binary messages (8 KiB, doubled while under 1/16 of what was sent, up to 16 MiB) and take the server's
// measurement messages (AppInfo.NumBytes at AppInfo.ElapsedTime) as the receiver-side count.
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { payload } from '../../../protocol/random-payload.ts';
import { describeError, resultCodeOf } from '../errors.ts';
import { RateEstimator } from './estimator.ts';
import { controlLoop, verdict, type TransferOutcome, type TransferPlan } from './transfer.ts';

export const NDT7_SUBPROTOCOL = 'net.measurementlab.ndt.v7';
const MIN_MESSAGE = 1 << 13;
const MAX_MESSAGE = 1 << 24;
/** Our uploads stop doubling at 1 MiB (the spec's 16 MiB is what a receiver must accept): a smaller message
 * keeps the byte cap and the data budget within a megabyte of what really left. */
const MAX_UPLOAD_MESSAGE = 1 << 20;
const SCALING_FRACTION = 16;
/** Bytes queued in ws and the socket before the uploader waits. */
const SEND_HIGH_WATER = 256 * 1024;

export interface Ndt7Target {
  /** ws:// or wss:// URL of /ndt/v7/download or /ndt/v7/upload, with any query (metadata, access_token). */
  url: string;
  /** Sent as Authorization: Bearer (our collector); M-Lab URLs carry their access_token instead. */
  token?: string;
}

interface ServerMeasurement {
  AppInfo?: { ElapsedTime?: number; NumBytes?: number };
  TCPInfo?: { ElapsedTime?: number; BytesReceived?: number };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url.slice(0, 200);
  }
}

export function runNdt7(target: Ndt7Target, plan: TransferPlan, abortCode: TransferOutcome['code']): Promise<TransferOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const estimator = new RateEstimator(plan.estimator);
    const server = hostOf(target.url);
    let ws: WebSocket;
    try {
      ws = new WebSocket(target.url, [NDT7_SUBPROTOCOL], {
        headers: { 'user-agent': 'songcheck-agent', ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) },
        perMessageDeflate: false,
        maxPayload: MAX_MESSAGE,
        handshakeTimeout: plan.connectTimeoutMs,
      });
    } catch (err) {
      return resolve(failed('error', describeError(err)));
    }
    let socket: Socket | undefined;
    let payloadBytes = 0; // download: received binary payload; upload: sent binary payload
    let serverBytes = 0; // upload: the server's AppInfo.NumBytes
    let serverElapsedUs = 0;
    let serverFirst: [number, number] | undefined;
    let firstByteAt: number | undefined;
    let failure: { code: TransferOutcome['code']; detail: string } | undefined;
    let closeInfo = '';

    function failed(code: TransferOutcome['code'], detail: string): TransferOutcome {
      return { code, detail, stopReason: 'not_started', bytes: 0, socketBytes: 0, estimate: estimator.estimate(), durationMs: performance.now() - started, server, streams: 1 };
    }

    const closedP = new Promise<void>((r) => ws.once('close', (code, reason) => ((closeInfo = `close ${code}${reason.length ? ` ${reason.toString().slice(0, 80)}` : ''}`), r())));
    ws.on('error', (err) => {
      failure ??= { code: resultCodeOf(err), detail: describeError(err) };
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      const retry = res.headers['retry-after'];
      failure = {
        code: status === 401 || status === 403 || status === 503 || status === 429 ? 'refused' : 'http_error',
        detail: `server answered HTTP ${status} to the ndt7 upgrade${retry ? ` (retry after ${retry} s)` : ''}`,
      };
      res.resume();
      ws.terminate();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        if (plan.direction === 'download') {
          payloadBytes += Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
        }
        return;
      }
      try {
        const m = JSON.parse(data.toString()) as ServerMeasurement;
        // TCPInfo.BytesReceived counts bytes as they arrive; AppInfo.NumBytes only whole messages, which grow
        // to a megabyte and more (seconds of data on a slow uplink). Prefer the finer count, as M-Lab's clients do.
        const fine = typeof m.TCPInfo?.BytesReceived === 'number' && typeof m.TCPInfo?.ElapsedTime === 'number';
        const n = fine ? m.TCPInfo!.BytesReceived : m.AppInfo?.NumBytes;
        const us = fine ? m.TCPInfo!.ElapsedTime : m.AppInfo?.ElapsedTime;
        if (typeof n === 'number' && typeof us === 'number' && us >= serverElapsedUs) {
          serverBytes = n;
          serverElapsedUs = us;
          if (!serverFirst && n > 0) serverFirst = [us, n];
        }
      } catch {
        // A measurement we cannot read is not needed for the result.
      }
    });

    const openP = new Promise<boolean>((r) => {
      ws.once('open', () => r(true));
      void closedP.then(() => r(false));
    });

    void openP.then(async (ok) => {
      if (!ok) {
        const f = failure ?? { code: 'reset' as const, detail: `connection closed before the test started (${closeInfo})` };
        return resolve(failed(f.code, f.detail));
      }
      socket = (ws as unknown as { _socket: Socket })._socket;
      const read0 = socket.bytesRead;
      const written0 = socket.bytesWritten;
      const t0 = performance.now();
      if (plan.direction === 'upload') void pump();

      // The server ends an upload with a close frame at 10 s. On a long path the kernel still holds seconds of
      // our data ahead of our close reply, so the close completes late (or only at the server's hard limit):
      // the server's close frame (ws goes CLOSING without us asking) is the end of the test.
      let serverEnded!: () => void;
      const serverEndedP = new Promise<void>((r) => (serverEnded = r));
      const sample = () => {
        if (!socket) return undefined;
        if (ws.readyState !== ws.OPEN && !stopping) serverEnded();
        if (plan.direction === 'download') {
          const got = socket.bytesRead - read0;
          if (got > 0) firstByteAt ??= performance.now();
          return { t: performance.now() - t0, bytes: got, moved: got };
        }
        if (payloadBytes > 0) firstByteAt ??= performance.now();
        // Receiver side: the server's count at the server's clock; until it reports, nothing is counted.
        return { t: serverElapsedUs / 1000, bytes: serverBytes, moved: payloadBytes };
      };
      const { reason } = await controlLoop(plan, estimator, sample, Promise.race([closedP, serverEndedP]));
      stopping = true;
      // What is still queued in this process never left: not sent, not charged.
      const unsent = ws.bufferedAmount + socket.writableLength;
      if (ws.readyState === ws.OPEN) ws.close(1000, 'client done');
      // Give the server a moment to close first (spec), then cut.
      const cut = setTimeout(() => ws.terminate(), 2_000);
      await closedP;
      clearTimeout(cut);
      const socketBytes = Math.max(0, socket.bytesRead - read0 + (socket.bytesWritten - written0) - unsent);
      if (plan.direction === 'upload') payloadBytes = Math.max(0, payloadBytes - unsent);
      const estimate = estimator.estimate();
      // A server that closes at our max_bytes ended the test at the cap, not on its own.
      const capHit = reason === undefined && payloadBytes >= plan.capBytes;
      let v = verdict(capHit ? 'byte_cap' : reason, estimate, plan.estimator.minSteadyMs, abortCode);
      if (reason === undefined && !capHit && failure) v = { code: failure.code, stopReason: 'failed', detail: `${failure.detail} (${closeInfo})` };
      else if (reason === undefined && !capHit && !/^close 1000/.test(closeInfo) && estimate.steadyMs < plan.estimator.minSteadyMs) {
        v = { code: 'reset', stopReason: 'failed', detail: `connection ended mid-test (${closeInfo || 'no close frame'})` };
      }
      let serverMbps: number | undefined;
      // Only the receiver's figure means anything: the server's count for uploads (for downloads it is a sender's).
      if (plan.direction === 'upload' && serverFirst && serverElapsedUs > serverFirst[0]) serverMbps = ((serverBytes - serverFirst[1]) * 8) / (serverElapsedUs - serverFirst[0]);
      resolve({
        ...v,
        bytes: payloadBytes,
        socketBytes,
        estimate,
        ...(serverMbps !== undefined ? { serverMbps } : {}),
        durationMs: performance.now() - t0,
        server,
        streams: 1,
        ...(firstByteAt !== undefined ? { firstByteAt } : {}),
      });
    });

    let stopping = false;
    async function pump(): Promise<void> {
      let size = MIN_MESSAGE;
      let lastMeasurement = 0;
      const t0 = performance.now();
      for (let i = 0; i < 1e7 && !stopping && ws.readyState === ws.OPEN; i++) {
        if (payloadBytes >= plan.capBytes) break;
        if (size < MAX_UPLOAD_MESSAGE && size <= payloadBytes / SCALING_FRACTION) size *= 2;
        const n = Math.min(size, plan.capBytes - payloadBytes);
        ws.send(payload(n), { binary: true });
        payloadBytes += n;
        const now = performance.now();
        if (now - lastMeasurement >= 250) {
          lastMeasurement = now;
          ws.send(JSON.stringify({ AppInfo: { ElapsedTime: Math.round((now - t0) * 1000), NumBytes: payloadBytes }, Origin: 'client', Test: 'upload' }));
        }
        if (i % 16 === 15) await new Promise((r) => setImmediate(r));
        // Wait (re-checking every 100 ms) until the queue is under the high-water mark again.
        for (let w = 0; w < 1e6 && !stopping && ws.readyState === ws.OPEN && ws.bufferedAmount + (socket?.writableLength ?? 0) > SEND_HIGH_WATER; w++) {
          await new Promise<void>((r) => {
            const wake = setTimeout(done, 100);
            function done(): void {
              clearTimeout(wake);
              socket?.off('drain', done);
              r();
            }
            socket?.once('drain', done);
          });
        }
      }
    }
  });
}
