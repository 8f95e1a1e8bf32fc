import type { ResultCode } from '../../../protocol/results.ts';
import { abortCode } from '../errors.ts';
import { latencyStats, type Attempt } from '../latency-stats.ts';
import { overallCode, summariseFailures, type Failure } from '../outcome.ts';
import { resolveHost } from '../resolve.ts';
import { guarded, makeResult } from '../result.ts';
import { sleep } from '../../platform/abortable-sleep.ts';
import { parseHostPort } from '../../../protocol/host-port.ts';
import { collectorEndpoint, formatHostPort } from '../target.ts';
import { TcpOptions } from '../../../protocol/probe-options/tcp.ts';
import type { Probe } from '../types.ts';
import { withLanAttribution } from '../lan/observation.ts';
import { connectOnce } from '../tcp-connect.ts';


export const tcpProbe: Probe<TcpOptions> = {
  name: 'tcp',
  description: 'TCP connect latency to host:port: needs no privileges and parses no text (the primary latency method)',

  defaultTargets({ collectorUrl }) {
    const c = collectorEndpoint(collectorUrl);
    return c ? [formatHostPort(c.host, c.port)] : [];
  },

  run(target, rawOptions, ctx) {
    return guarded('tcp', target, ctx, latencyStats([]), async (measuredAt) => {
      const done = (code: ResultCode, attempts: Attempt[], detail?: string) =>
        makeResult('tcp', target, measuredAt, code, withLanAttribution(latencyStats(attempts), ctx.now()), detail);
      const options = TcpOptions.parse(rawOptions);
      const hp = parseHostPort(target);
      if ('error' in hp) return done('error', [], hp.error);

      const resolved = await resolveHost(hp.host, options.timeoutMs, ctx.signal);
      if (!('address' in resolved)) {
        return done(ctx.signal.aborted ? abortCode(ctx.signal) : resolved.code, [], resolved.detail);
      }

      const attempts: Attempt[] = [];
      const failures: Failure[] = [];
      for (let i = 0; i < options.count && !ctx.signal.aborted; i++) {
        const started = performance.now();
        const o = await connectOnce(resolved.address, hp.port, options.timeoutMs, ctx.signal);
        // An attempt cut short by the abort proves nothing either way, so it is not counted.
        if ('aborted' in o) break;
        if (o.ok) attempts.push(o.rttMs);
        else {
          attempts.push(null);
          failures.push(o);
        }
        if (i < options.count - 1) await sleep(options.intervalMs - (performance.now() - started), ctx.signal);
      }

      const received = attempts.filter((a) => a !== null).length;
      const stopped = attempts.length < options.count ? `stopped after ${attempts.length} of ${options.count} attempts` : undefined;
      const code = attempts.length === 0 ? abortCode(ctx.signal) : overallCode(attempts.length, received, failures);
      const detail = [summariseFailures(failures), stopped].filter(Boolean).join('; ');
      return done(code, attempts, detail || undefined);
    });
  },
};
