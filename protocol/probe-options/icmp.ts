// Options of the icmp probe (probes.icmp.options); the probe lives in agent/probes/icmp/.
import { z } from 'zod';

export const IcmpOptions = z
  .object({
    count: z.number().int().min(1).max(100).default(5),
    /** Between echoes; at least 200 ms (unprivileged ping's floor). Windows paces at about 1 s regardless. */
    intervalMs: z.number().int().min(200).max(60_000).default(1000),
    /** Wait for each echo's reply. */
    timeoutMs: z.number().int().min(1).max(60_000).default(3000),
    /** Path of the ping program when it is not on PATH as `ping`. Local only (index.ts LOCAL_ONLY_OPTIONS). */
    binary: z.string().min(1).optional(),
  })
  .strict()
  .prefault({});
export type IcmpOptions = z.infer<typeof IcmpOptions>;
