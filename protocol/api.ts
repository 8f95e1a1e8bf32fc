// Request and response bodies of the collector's HTTP API, shared by agent and collector.
import { z } from 'zod';
import { KeyId, PublicKeyText } from './evidence.ts';
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
  /**
   * stored: InfluxDB has it. held: InfluxDB refused it for a reason that is not the result's fault (the
   * database's state); the collector keeps it in its dead-letter store on disk, so the agent may forget it.
   * rejected: the result itself is invalid (schema, tag grammar, series budget); the reason says why.
   */
  status: z.enum(['stored', 'held', 'rejected']),
  reason: z.string().optional(),
});
export type ResultAck = z.infer<typeof ResultAck>;

export const MeasurementBatchResponse = z.object({
  stored: z.number().int().min(0),
  rejected: z.number().int().min(0),
  /** Results kept in the collector's dead-letter store; absent when none. */
  held: z.number().int().min(0).optional(),
  results: z.array(ResultAck),
  /** The agent version the collector recommends (SONGCHECK_RECOMMENDED_AGENT_VERSION); older agents ignore it. */
  recommendedAgentVersion: z.string().max(50).optional(),
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
    /** The device's Ed25519 public key (docs/evidence.md), created before enrolling; agents before 0.2.0 send none. */
    publicKey: PublicKeyText.optional(),
  })
  .strict();
export type EnrollRequest = z.infer<typeof EnrollRequest>;

export const EnrollResponse = z.object({
  deviceId: z.string(),
  token: z.string(),
  site: z.object({ code: z.string(), name: z.string() }),
  collectorTime: z.number().int(),
  /** The id of the registered signing key, when the request carried one. */
  keyId: KeyId.optional(),
});
export type EnrollResponse = z.infer<typeof EnrollResponse>;

/**
 * Every `error.code` the collector can answer with. Stable: agents and scripts branch on them, so a code is
 * never renamed or reused; a new one may be added (a client treats a code it does not know as a generic
 * failure of that HTTP status).
 */
export const ERROR_CODES = [
  'bad_request', // 400: body, query or path parameter invalid
  'unauthorized', // 401: no credential, or one not recognised (unknown or revoked device token, wrong admin token)
  'forbidden', // 403: a valid credential without the right (a device token on an admin route)
  'not_found', // 404: no such route
  'site_not_found', // 404
  'device_not_found', // 404
  'enrollment_code_not_found', // 404: admin action on an unknown code id
  'site_exists', // 409
  'payload_too_large', // 413: body over the limit, also after decompression
  'unsupported_media_type', // 415: a Content-Encoding other than gzip or identity
  'csv_invalid', // 422: CSV rows that do not validate; `details` lists each one
  'rate_limited', // 429, with Retry-After
  'too_many_tests', // 503, with Retry-After: the throughput server's concurrent-test cap is reached
  'enrollment_code_invalid', // 403
  'enrollment_code_expired', // 403
  'enrollment_code_used_up', // 403
  'internal_error', // 500
  'influx_unavailable', // 503, with Retry-After
  'busy', // 503, with Retry-After: the control channel sheds handshakes (admission control) or is restarting
  'command_not_found', // 404: admin action on an unknown command id
  'signing_key_unknown', // 409: results signed with a key this device has not registered (docs/evidence.md)
  'signature_required', // 409: unsigned results from a device that signs (registered key or agent >= 0.2.0)
  'signing_key_exists', // 409: the device already has another signing key; a key is never replaced
  'evidence_log_unavailable', // 503, with Retry-After: the evidence log cannot be written (disk)
] as const;
export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** One item of an error's `details`: where (`line` of a CSV, `path` of a field) and what is wrong. */
export const ErrorDetail = z.object({
  line: z.number().int().optional(),
  path: z.string().optional(),
  message: z.string(),
});
export type ErrorDetail = z.infer<typeof ErrorDetail>;

/** Every error body: a stable machine code, a message a person can act on, and the request id for the logs. */
export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    requestId: z.string().optional(),
    details: z.array(ErrorDetail).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/**
 * How an agent reads an error body: any code string, so an agent keeps showing the collector's message
 * when a newer collector answers with a code this agent does not know yet.
 */
export const ReceivedErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), requestId: z.string().optional() }),
});

export const HealthResponse = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  uptimeS: z.number(),
  influx: z.object({ ok: z.boolean(), url: z.string(), latencyMs: z.number().optional(), error: z.string().optional() }),
  registry: z.object({ ok: z.boolean(), sites: z.number().int(), devices: z.number().int() }),
  /** ndt7 and HTTP throughput tests: running (all collector processes), and this process's counters. */
  throughput: ThroughputHealth.optional(),
  /** Alert channels: a channel whose last deliveries all failed is `failing` (docs/alerts.md). */
  alerts: z.object({ channels: z.array(z.object({ id: z.string(), consecutiveFailures: z.number(), failing: z.boolean(), lastError: z.string().optional() })) }).optional(),
  /** The ingest guards' figures: dead letters, series budget, clock corrections (docs/security.md#a-hostile-enrolled-device-issue-14). */
  guards: z
    .object({
      deadLetters: z.object({ total: z.number().int(), byKind: z.record(z.string(), z.number().int()) }),
      seriesBudget: z.object({ maxTargetsPerProbe: z.number().int(), refusedSinceStart: z.number().int(), flaggedDevices: z.number().int() }),
      clock: z.object({ correctedSinceStart: z.number().int(), maxFutureMs: z.number().int() }),
    })
    .optional(),
  /** The control channel of this process: connections, shed handshakes, and the per-connection message budget at work (issue 14, case 8). */
  control: z
    .object({
      connections: z.number().int(),
      shed: z.number().int(),
      /** Handshakes refused because their device reconnected past its own budget. */
      refusedDeviceHandshakes: z.number().int(),
      messageBudget: z.object({
        messagesPerSecond: z.number(),
        messageBurst: z.number().int(),
        floodCooldownSeconds: z.number(),
        throttled: z.number().int(),
        closed: z.number().int(),
        refusedCoolingDown: z.number().int(),
        droppedIdentical: z.number().int(),
      }),
    })
    .optional(),
  /** The collector's periodic jobs by name: runs and failed runs since start, the last error. */
  timers: z.record(z.string(), z.object({ runs: z.number().int(), failures: z.number().int(), lastError: z.string().optional() })).optional(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;
