// Request and response bodies of the collector's HTTP API, shared by agent and collector.
import { z } from 'zod';
import { ResultId } from './results.ts';
import { ThroughputHealth } from './throughput.ts';

export const API_PREFIX = '/api/v1';
export const MAX_RESULTS_PER_BATCH = 500;

/** POST /api/v1/measurements. Results are validated one by one so a bad one cannot sink its batch. */
export const MeasurementBatch = z
  .object({
    agentVersion: z.string().max(50).optional(),
    sentAt: z.number().int().optional(),
    results: z.array(z.unknown()).min(1).max(MAX_RESULTS_PER_BATCH),
  })
  .strict();
export type MeasurementBatch = z.infer<typeof MeasurementBatch>;

export const ResultAck = z.object({
  index: z.number().int().min(0),
  id: ResultId.optional(),
  status: z.enum(['stored', 'rejected']),
  reason: z.string().optional(),
});
export type ResultAck = z.infer<typeof ResultAck>;

export const MeasurementBatchResponse = z.object({
  stored: z.number().int().min(0),
  rejected: z.number().int().min(0),
  results: z.array(ResultAck),
});
export type MeasurementBatchResponse = z.infer<typeof MeasurementBatchResponse>;

/** POST /api/v1/enroll: exchange a site's enrollment code for a device identity. */
export const EnrollRequest = z
  .object({
    code: z.string().min(4).max(64),
    hostname: z.string().max(200).optional(),
    platform: z.string().max(100).optional(),
    agentVersion: z.string().max(50).optional(),
    fingerprint: z.string().max(200).optional(),
  })
  .strict();
export type EnrollRequest = z.infer<typeof EnrollRequest>;

export const EnrollResponse = z.object({
  deviceId: z.string(),
  token: z.string(),
  site: z.object({ code: z.string(), name: z.string() }),
  collectorTime: z.number().int(),
});
export type EnrollResponse = z.infer<typeof EnrollResponse>;

/** Every error body: a stable machine code, a message a person can act on, and the request id for the logs. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), requestId: z.string().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const HealthResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  uptimeS: z.number(),
  influx: z.object({ ok: z.boolean(), url: z.string(), latencyMs: z.number().optional(), error: z.string().optional() }),
  registry: z.object({ ok: z.boolean(), sites: z.number().int(), devices: z.number().int() }),
  /** ndt7 and HTTP throughput tests: running (all collector processes), and this process's counters. */
  throughput: ThroughputHealth.optional(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;
