// Options of the http probe (probes.http.options); the probe lives in agent/probes/http/.
import { z } from 'zod';

export const HttpOptions = z
  .object({
    /** For the whole exchange: lookup, connect, TLS, headers and body. */
    timeoutMs: z.number().int().min(1).max(120_000).default(10_000),
    method: z.enum(['GET', 'HEAD']).default('GET'),
    /** Reading stops here, so a large or endless body cannot spend the school's data plan. */
    maxBytes: z.number().int().min(0).max(100 * 1024 * 1024).default(1024 * 1024),
    /** When set, any other status is an http_error (e.g. 204 for the collector's ping endpoint). */
    expectStatus: z.number().int().min(100).max(599).optional(),
    /** PEM file of extra CAs to trust, for a test server with a private CA; the system CAs stay trusted. Local only (index.ts LOCAL_ONLY_OPTIONS). */
    caFile: z.string().min(1).optional(),
  })
  .strict()
  .prefault({});
export type HttpOptions = z.infer<typeof HttpOptions>;
