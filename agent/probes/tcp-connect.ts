import { connect } from 'node:net';
import type { ResultCode } from '../../protocol/results.ts';
import { describeError, resultCodeOf } from './errors.ts';

export type ConnectOutcome =
  | { ok: true; rttMs: number }
  | { ok: false; code: ResultCode; detail: string }
  | { ok: false; aborted: true };

/**
 * Times one TCP handshake: from net.connect() to 'connect' (SYN sent .. SYN-ACK received and ACK queued),
 * then closes at once so no application data is exchanged. `address` is an IP literal, so no lookup is timed.
 */
export function connectOnce(address: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ ok: false, aborted: true });
    const start = process.hrtime.bigint();
    const socket = connect({ host: address, port, noDelay: true });
    const finish = (outcome: ConnectOutcome): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('connect');
      // Late errors (e.g. a reset after our close) must not become unhandled 'error' events.
      socket.on('error', () => {});
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = (): void => finish({ ok: false, aborted: true });
    const timer = setTimeout(
      () => finish({ ok: false, code: 'timeout', detail: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true, rttMs: Number(process.hrtime.bigint() - start) / 1e6 }));
    socket.once('error', (err) => finish({ ok: false, code: resultCodeOf(err), detail: describeError(err) }));
  });
}
