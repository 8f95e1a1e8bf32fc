// Bodies of the throughput API (test tokens, site leases, health figures), shared by agent and collector.
import { z } from 'zod';

/** POST /api/v1/ndt7/token: a short-lived credential for an ndt7 client that cannot send headers. */
export const Ndt7TokenResponse = z.object({
  token: z.string(),
  expiresAt: z.number().int(),
  /** Paths with the token as `access_token`, relative to the collector's base URL. */
  download: z.string(),
  upload: z.string(),
});
export type Ndt7TokenResponse = z.infer<typeof Ndt7TokenResponse>;

/** POST /api/v1/throughput/lease: one throughput test at a time per site. */
export const LeaseRequest = z.object({ durationS: z.number().int().min(1).max(300).default(60) }).strict();
export const LeaseResponse = z.union([
  z.object({ granted: z.literal(true), leaseId: z.string(), expiresAt: z.number().int() }),
  z.object({ granted: z.literal(false), retryAfterS: z.number().min(0) }),
]);
export type LeaseResponse = z.infer<typeof LeaseResponse>;

const Family = z.object({
  running: z.number().int(),
  queued: z.number().int(),
  refused: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  maxConcurrent: z.number().int(),
});
/** The per-device slot budget and the transfer floor (issue 14, case 7): limits, and this process's refusals and drops. */
const Budget = z.object({
  httpStreamsPerDevice: z.number().int(),
  attemptBurst: z.number().int(),
  attemptsPerMinute: z.number().int(),
  minBytesPerSecond: z.number().int(),
  rateWindowMs: z.number().int(),
  idleTimeoutMs: z.number().int(),
  refusedDeviceBusy: z.number().int(),
  refusedTooManyAttempts: z.number().int(),
  refusedSiteBusy: z.number().int(),
  droppedIdle: z.number().int(),
  droppedTooSlow: z.number().int(),
});
/** The throughput service's figures in GET /healthz. */
export const ThroughputHealth = z.object({ ndt7: Family, http: Family, budget: Budget.optional() });
