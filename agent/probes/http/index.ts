import { readFileSync } from 'node:fs';
import { API_PREFIX } from '../../../protocol/api.ts';
import { describeError } from '../errors.ts';
import { guarded, makeResult } from '../result.ts';
import { collectorEndpoint } from '../target.ts';
import { HttpOptions } from '../../../protocol/probe-options/http.ts';
import type { Probe } from '../types.ts';
import { timeRequest } from './request.ts';


export const httpProbe: Probe<HttpOptions> = {
  name: 'http',
  description: 'HTTP(S) request timing on a fresh connection: DNS, TCP connect, TLS, first byte, total',

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
