import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { describeError, resultCodeOf } from './errors.ts';
import type { ResultCode } from '../../protocol/results.ts';

export type Resolved = { address: string; family: 4 | 6 } | { code: ResultCode; detail: string };

/**
 * Resolves a host once, through the OS resolver as the rest of the machine would, before any timed attempt, so
 * name-resolution time never counts as round-trip time and a resolution failure is reported as such.
 */
export async function resolveHost(host: string, timeoutMs: number, signal: AbortSignal): Promise<Resolved> {
  const family = isIP(host);
  if (family === 4 || family === 6) return { address: host, family };
  // getaddrinfo cannot be cancelled; racing it keeps the probe's time limit even when the resolver hangs.
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<Resolved>((resolve) => {
    timer = setTimeout(() => resolve({ code: 'dns_error', detail: `resolving ${host} took over ${timeoutMs} ms` }), timeoutMs);
    onAbort = () => resolve({ code: 'dns_error', detail: `aborted while resolving ${host}` });
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const work = lookup(host).then(
    (r): Resolved => ({ address: r.address, family: r.family === 6 ? 6 : 4 }),
    (err: unknown): Resolved => {
      const code = resultCodeOf(err);
      return { code: code === 'error' ? 'dns_error' : code, detail: `resolving ${host}: ${describeError(err)}` };
    },
  );
  try {
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
