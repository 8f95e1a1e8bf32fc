import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DnsFields, ResultCode } from '../../../protocol/results.ts';
import { abortCode, clip, describeError, errorCodeOf } from '../errors.ts';
import { round3 } from '../latency-stats.ts';
import { guarded, makeResult } from '../result.ts';
import { collectorEndpoint } from '../target.ts';
import { DnsOptions } from '../../../protocol/probe-options/dns.ts';
import type { Probe } from '../types.ts';


/** c-ares codes where a server did answer, just not with an address: the time to that answer is still measured. */
const ANSWERED: Record<string, string> = {
  ENOTFOUND: 'NXDOMAIN: the name does not exist',
  ENODATA: 'no records of that type',
  ESERVFAIL: 'SERVFAIL',
  EREFUSED: 'the server refused the query',
  EFORMERR: 'FORMERR',
  ENOTIMP: 'NOTIMP',
  EBADRESP: 'malformed response',
};

export const dnsProbe: Probe<DnsOptions> = {
  name: 'dns',
  description: 'DNS resolution time of a name, asked of the nameservers directly (no OS cache)',

  defaultTargets({ collectorUrl }) {
    const c = collectorEndpoint(collectorUrl);
    return c && isIP(c.host) === 0 ? [c.host] : [];
  },

  run(target, rawOptions, ctx) {
    return guarded('dns', target, ctx, { answers: 0 }, async (measuredAt) => {
      const options = DnsOptions.parse(rawOptions);
      const done = (code: ResultCode, fields: DnsFields, detail?: string) => makeResult('dns', target, measuredAt, code, fields, detail);
      if (isIP(target) !== 0) return done('error', { answers: 0 }, 'target is an IP literal: nothing to resolve');

      // tries: 1 so one lost datagram is reported as such instead of being hidden by c-ares' own retries.
      const resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
      if (options.servers) {
        try {
          resolver.setServers(options.servers);
        } catch (err) {
          return done('error', { answers: 0 }, `servers: ${describeError(err)}`);
        }
      }
      const servers = resolver.getServers();
      if (servers.length === 0) return done('unavailable', { answers: 0 }, 'no nameserver configured');
      const server = clip(servers.join(','), 100);

      // c-ares' timeout is per server; this bounds the whole query however many servers it walks through.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        resolver.cancel();
      }, options.timeoutMs);
      const onAbort = (): void => resolver.cancel();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const start = performance.now();
      try {
        if (ctx.signal.aborted) resolver.cancel();
        const answers: string[] = await resolver.resolve(target, options.rrtype);
        return done('ok', { resolve_ms: round3(performance.now() - start), answers: answers.length, server });
      } catch (err) {
        const elapsed = round3(performance.now() - start);
        const code = errorCodeOf(err) ?? '';
        const answered = ANSWERED[code];
        if (answered) return done('dns_error', { resolve_ms: elapsed, answers: 0, server }, `${options.rrtype} ${target}: ${answered}`);
        if (code === 'ETIMEOUT' || (code === 'ECANCELLED' && timedOut)) {
          return done('timeout', { answers: 0, server }, `no answer within ${options.timeoutMs} ms`);
        }
        if (code === 'ECANCELLED' && ctx.signal.aborted) return done(abortCode(ctx.signal), { answers: 0, server }, 'aborted');
        // c-ares' ECONNREFUSED means the servers could not be contacted (e.g. ICMP port unreachable).
        if (code === 'ECONNREFUSED') return done('refused', { answers: 0, server }, describeError(err));
        return done('dns_error', { answers: 0, server }, describeError(err));
      } finally {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
      }
    });
  },
};
