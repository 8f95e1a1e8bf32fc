// The `connectivity` section of the agent config: how often and against what the uptime check runs (the check
// itself is agent/uptime/).
import { z } from 'zod';
import { parseHostPort } from './host-port.ts';

/** Two well-run anycast resolvers' HTTPS ports, as IP literals so the check needs no DNS to reach them. */
export const DEFAULT_OUTSIDE_TARGETS = ['1.1.1.1:443', '8.8.8.8:443'];
/** Looked up when the collector URL holds an IP address (otherwise the collector's own name is looked up). */
export const DEFAULT_DNS_NAME = 'one.one.one.one';

const HostPortTarget = z
  .string()
  .min(1)
  .max(200)
  .refine((t) => !('error' in parseHostPort(t)), { message: 'must be host:port or [ipv6]:port, e.g. 1.1.1.1:443' });

export const ConnectivityConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** One check every this many seconds; uptime counts checks, so shorter is finer (and costs a few packets). */
    intervalSeconds: z.number().min(1).max(300).default(60),
    /** Each sub-check's time limit (a lookup and a connect each). */
    timeoutSeconds: z.number().min(0.1).max(30).default(3),
    /** Any one answering is enough; IP literals keep the check independent of DNS. */
    outsideTargets: z.array(HostPortTarget).min(1).max(5).default(DEFAULT_OUTSIDE_TARGETS),
    /** Looked up through the system resolver. Default: the collector's host name (or one.one.one.one for an IP). */
    dnsName: z.string().min(1).max(253).optional(),
  })
  .strict()
  .refine((c) => c.timeoutSeconds * 2 < c.intervalSeconds, {
    message: 'timeoutSeconds must be under half of intervalSeconds (a check is a lookup then a connect)',
    path: ['timeoutSeconds'],
  })
  .prefault({});
export type ConnectivityConfig = z.infer<typeof ConnectivityConfig>;
