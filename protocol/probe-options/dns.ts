// Options of the dns probe (probes.dns.options); the probe lives in agent/probes/dns/.
import { z } from 'zod';

export const DnsOptions = z
  .object({
    /** "ip", "ip:port" or "[ipv6]:port"; absent: the system's configured nameservers. */
    servers: z.array(z.string().min(1).max(100)).min(1).max(5).optional(),
    rrtype: z.enum(['A', 'AAAA']).default('A'),
    timeoutMs: z.number().int().min(1).max(60_000).default(5000),
  })
  .strict()
  .prefault({});
export type DnsOptions = z.infer<typeof DnsOptions>;
