import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { API_PREFIX } from '../../../protocol/api.ts';
import { describeError } from '../errors.ts';
import { guarded, makeResult } from '../result.ts';
import { collectorEndpoint } from '../target.ts';
import type { Probe } from '../types.ts';
import { timeRequest } from './request.ts';

export const HttpOptions = z
  .object({
    /** For the whole exchange: lookup, connect, TLS, headers and body. */
    timeoutMs: z.number().int().min(1).max(120_000).default(10_000),
    method: z.enum(['GET', 'HEAD']).default('GET'),
    /** Reading stops here, so a large or endless body cannot spend the school's data plan. */
    maxBytes: z.number().int().min(0).max(100 * 1024 * 1024).default(1024 * 1024),
    /** When set, any other status is an http_error (e.g. 204 for the collector's ping endpoint). */
    expectStatus: z.number().int().min(100).max(599).optional(),
    /** PEM file of extra CAs to trust, for a test server with a private CA; the system CAs stay trusted. */
    caFile: z.string().min(1).optional(),
  })
  .strict()
  .prefault({});
export type HttpOptions = z.infer<typeof HttpOptions>;

export const httpProbe: Probe<HttpOptions> = {
  name: 'http',
  description: 'HTTP(S) request timing on a fresh connection: DNS, TCP connect, TLS, first byte, total',
  options: HttpOptions,

  defaultTargets({ collectorUrl }) {
    const c = collectorEndpoint(collectorUrl);
    return c ? [`${c.base}${API_PREFIX}/ping`] : [];
  },

  run(target, rawOptions, ctx) {
    return guarded('http', target, ctx, {}, async (measuredAt) => {
      const options = HttpOptions.parse(rawOptions);
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        return makeResult('http', target, measuredAt, 'error', {}, 'target is not a URL');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return makeResult('http', target, measuredAt, 'error', {}, `unsupported scheme ${url.protocol}`);
      }
      let ca: string | undefined;
      if (options.caFile) {
        try {
          // Added to, not instead of, Node's bundled roots.
          ca = readFileSync(options.caFile, 'utf8');
        } catch (err) {
          return makeResult('http', target, measuredAt, 'error', {}, `caFile: ${describeError(err)}`);
        }
      }
      const t = await timeRequest(url, { ...options, ca }, ctx.signal);
      return makeResult('http', target, measuredAt, t.code, t.fields, t.detail);
    });
  },
};
