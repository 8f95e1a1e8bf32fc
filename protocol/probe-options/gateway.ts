// Options of the gateway probe (probes.gateway.options): the path to the router; the probe lives in
// agent/probes/gateway/.
import { z } from 'zod';

/** The router's web admin page, HTTPS, DNS: most home and 4G routers serve one of them or answer RST. */
export const GATEWAY_PORTS = [80, 443, 53];

export const GatewayOptions = z
  .object({
    count: z.number().int().min(1).max(100).default(5),
    intervalMs: z.number().int().min(0).max(60_000).default(200),
    /** A router on the same LAN answers in milliseconds; a second is already a lost handshake. */
    timeoutMs: z.number().int().min(100).max(10_000).default(1000),
    /** Router ports tried in order; the first that answers (accepted or reset) is used. */
    ports: z.array(z.number().int().min(1).max(65535)).min(1).max(5).default(GATEWAY_PORTS),
  })
  .strict()
  .prefault({});
export type GatewayOptions = z.infer<typeof GatewayOptions>;
