import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpFields, ResultCode } from '../../../protocol/results.ts';
import { abortCode, describeError, resultCodeOf } from '../errors.ts';
import { round3 } from '../latency-stats.ts';
import { requestFor, rootsPlus } from '../../net/request-for.ts';

export interface RequestPlan {
  method: 'GET' | 'HEAD';
  timeoutMs: number;
  maxBytes: number;
  expectStatus?: number | undefined;
  ca?: string | undefined;
}

export interface Timed {
  code: ResultCode;
  fields: HttpFields;
  detail?: string | undefined;
}

/** Phase marks in performance.now() ms; each is set when its event fires. */
interface Marks {
  start: number;
  lookup?: number;
  connect?: number;
  secure?: number;
  response?: number;
  end?: number;
}

/**
 * dns/connect/tls are the durations of their own phase; ttfb and total run from the start, like curl's
 * time_starttransfer and time_total. ttfb is taken when the response head is parsed, which for a head that fits
 * one segment is when its first byte arrived. A phase that did not happen (no lookup for an IP literal, no TLS
 * over http) is left out rather than reported as 0.
 */
function fieldsOf(m: Marks, status: number | undefined, bytes: number): HttpFields {
  const f: HttpFields = {};
  if (m.lookup !== undefined) f.dns_ms = round3(m.lookup - m.start);
  if (m.connect !== undefined) f.connect_ms = round3(m.connect - (m.lookup ?? m.start));
  if (m.secure !== undefined && m.connect !== undefined) f.tls_ms = round3(m.secure - m.connect);
  if (m.response !== undefined) f.ttfb_ms = round3(m.response - m.start);
  if (m.end !== undefined) f.total_ms = round3(m.end - m.start);
  if (status !== undefined) {
    f.status = status;
    f.bytes = bytes;
  }
  return f;
}

function statusVerdict(status: number, expect: number | undefined): { code: ResultCode; detail?: string } {
  if (expect !== undefined && status !== expect) return { code: 'http_error', detail: `expected HTTP ${expect}, got ${status}` };
  if (status >= 400) return { code: 'http_error', detail: `HTTP ${status}` };
  return { code: 'ok' };
}

/** One request on a fresh connection (agent: false), so every run pays, and measures, DNS, TCP and TLS. */
export async function timeRequest(url: URL, plan: RequestPlan, signal: AbortSignal): Promise<Timed> {
  const isHttps = url.protocol === 'https:';
  const send = await requestFor(url);
  const ca = isHttps && plan.ca ? await rootsPlus(plan.ca) : undefined;
  return new Promise((resolve) => {
    const marks: Marks = { start: performance.now() };
    let status: number | undefined;
    let bytes = 0;
    let settled = false;

    const options = {
      method: plan.method,
      agent: false as const,
      headers: { 'user-agent': 'songcheck-agent', accept: '*/*', 'accept-encoding': 'identity', connection: 'close' },
      ...(ca ? { ca } : {}),
    };
    const req = send(url, options);

    const finish = (code: ResultCode, detail?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve({ code, fields: fieldsOf(marks, status, bytes), detail });
    };
    const onAbort = (): void => finish(abortCode(signal), 'aborted');
    const timer = setTimeout(() => finish('timeout', `no complete answer within ${plan.timeoutMs} ms`), plan.timeoutMs);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });

    req.on('socket', (socket: Socket) => {
      socket.once('lookup', () => (marks.lookup ??= performance.now()));
      socket.once('connect', () => (marks.connect ??= performance.now()));
      if (isHttps) socket.once('secureConnect', () => (marks.secure ??= performance.now()));
    });
    req.on('error', (err) => {
      // A certificate or handshake failure is only a TLS error while the handshake is still under way.
      const inHandshake = isHttps && marks.connect !== undefined && marks.secure === undefined;
      finish(resultCodeOf(err, { tls: inHandshake }), describeError(err));
    });
    req.on('response', (res: IncomingMessage) => {
      marks.response = performance.now();
      status = res.statusCode ?? 0;
      const verdict = statusVerdict(status, plan.expectStatus);
      const complete = (detail?: string): void => {
        marks.end = performance.now();
        finish(verdict.code, [verdict.detail, detail].filter(Boolean).join('; ') || undefined);
      };
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes >= plan.maxBytes) complete(`stopped reading at ${bytes} bytes (maxBytes ${plan.maxBytes})`);
      });
      res.on('end', () => complete());
      res.on('error', (err) => finish(resultCodeOf(err), describeError(err)));
      res.on('close', () => finish('reset', 'connection closed before the body was complete'));
      if (plan.maxBytes === 0) complete();
    });
    req.end();
  });
}
