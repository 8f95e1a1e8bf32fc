// Round trips to the router with TCP handshakes, no privileges: a SYN to a port of the router is answered
// by a SYN-ACK (a web admin page listens) or a RST (nothing listens); both are one round trip, so both are
// timed. Only silence is loss. The first port that answers is used for the whole run.
import { connect } from 'node:net';
import { sleep } from '../../platform/abortable-sleep.ts';
import { latencyStats } from '../latency-stats.ts';
import type { LatencyFields } from '../../../protocol/results.ts';

export { GATEWAY_PORTS } from '../../../protocol/probe-options/gateway.ts';

export type Handshake = { rttMs: number; answer: 'accepted' | 'reset' } | { lost: true } | { aborted: true };

export function handshake(address: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<Handshake> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ aborted: true });
    const start = process.hrtime.bigint();
    const socket = connect({ host: address, port, noDelay: true });
    const finish = (h: Handshake) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('connect');
      socket.on('error', () => {});
      socket.destroy();
      resolve(h);
    };
    const elapsed = () => Number(process.hrtime.bigint() - start) / 1e6;
    const onAbort = () => finish({ aborted: true });
    const timer = setTimeout(() => finish({ lost: true }), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ rttMs: elapsed(), answer: 'accepted' }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' ? { rttMs: elapsed(), answer: 'reset' } : { lost: true }));
  });
}

/** The first of `ports` the router answers on (accepted or reset), or undefined when it answers on none. */
export async function answeringPort(address: string, ports: number[], timeoutMs: number, signal: AbortSignal): Promise<number | undefined> {
  for (const port of ports) {
    const h = await handshake(address, port, timeoutMs, signal);
    if ('rttMs' in h) return port;
    if ('aborted' in h) return undefined;
  }
  return undefined;
}

/** `count` handshakes `intervalMs` apart: the tcp probe's latency figures (loss = unanswered). */
export async function handshakeRun(address: string, port: number, count: number, intervalMs: number, timeoutMs: number, signal: AbortSignal): Promise<LatencyFields> {
  const attempts: (number | null)[] = [];
  for (let i = 0; i < count && !signal.aborted; i++) {
    const began = performance.now();
    const h = await handshake(address, port, timeoutMs, signal);
    if ('aborted' in h) break;
    attempts.push('rttMs' in h ? h.rttMs : null);
    if (i < count - 1) await sleep(intervalMs - (performance.now() - began), signal);
  }
  return latencyStats(attempts);
}

/** Handshakes every `intervalMs` until finish(): the router's RTT while a throughput test loads the line. */
export function handshakeSampler(address: string, port: number, intervalMs: number) {
  const stop = new AbortController();
  const attempts: (number | null)[] = [];
  let from = Infinity;
  const running = (async () => {
    for (let i = 0; i < 10_000 && !stop.signal.aborted; i++) {
      const began = performance.now();
      if (began >= from) {
        const h = await handshake(address, port, 2_000, stop.signal);
        if ('aborted' in h) break;
        attempts.push('rttMs' in h ? h.rttMs : null);
      }
      await sleep(intervalMs - (performance.now() - began), stop.signal);
    }
  })();
  return {
    /** Samples count from this moment (performance.now()), the end of the warm-up. */
    startAt(t: number): void {
      from = Math.min(from, t);
    },
    async finish(): Promise<LatencyFields> {
      stop.abort();
      await running;
      return latencyStats(attempts);
    },
  };
}
