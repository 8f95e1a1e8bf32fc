// Options of the tcp probe (probes.tcp.options in the agent config): validated here, where the agent and the
// collector (remote configuration) both read it; the probe itself lives in agent/probes/tcp/.
import { z } from 'zod';

export const TcpOptions = z
  .object({
    count: z.number().int().min(1).max(100).default(5),
    /** Pause between the starts of consecutive attempts. */
    intervalMs: z.number().int().min(0).max(60_000).default(200),
    /** Per attempt; also bounds the one name resolution before the attempts. */
    timeoutMs: z.number().int().min(1).max(60_000).default(3000),
  })
  .strict()
  .prefault({});
export type TcpOptions = z.infer<typeof TcpOptions>;
