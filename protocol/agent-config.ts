// The agent configuration document: config.yaml at the school, and the same document pushed through the
// control channel (remote-config.ts). Schemas only: the agent reads its file with it (agent/config.ts) and
// the collector checks a pushed configuration with it, so both sides reject exactly the same documents.
// Cron expressions are checked with node-cron's own validator, the parser the agent's scheduler runs them with.
import { validate as validateCron } from 'node-cron';
import { z } from 'zod';
import { MAX_RESULTS_PER_BATCH } from './api.ts';
import { ConnectivityConfig } from './connectivity-config.ts';
import { isScheduledProbe, PROBE_OPTIONS, SCHEDULED_PROBES } from './probe-options/index.ts';
import { Target } from './results.ts';

const cron = z
  .string()
  .refine((expr) => validateCron(expr), {
    message: 'not a valid cron expression (5 or 6 fields: [second] minute hour day-of-month month day-of-week)',
  });

const ProbeSchedule = z
  .object({
    enabled: z.boolean().default(true),
    schedule: cron,
    /** Each run waits a random 0..splay seconds so a fleet on the same cron does not fire in the same second. */
    splaySeconds: z.number().min(0).max(3600).default(60),
    timeoutSeconds: z.number().positive().max(3600).default(60),
    /** Empty or absent: the probe's default targets (the collector). */
    /** Each one in the collector's tag grammar (results.ts TARGET_PATTERN), or its results would be refused. */
    targets: z.array(Target).max(20).optional(),
    /** Checked against the probe's own options schema (probe-options/, see docs/agent.md). */
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type ProbeSchedule = z.infer<typeof ProbeSchedule>;

const DEFAULT_PROBES: Record<string, z.input<typeof ProbeSchedule>> = {
  tcp: { schedule: '0 */5 * * * *', splaySeconds: 120 },
  http: { schedule: '30 */5 * * * *', splaySeconds: 120 },
  dns: { schedule: '0 */15 * * * *', splaySeconds: 300 },
  icmp: { schedule: '0 */15 * * * *', splaySeconds: 300 },
  // The path to the router, beside the tcp runs to the collector (LAN attribution, docs/throughput.md).
  gateway: { schedule: '0 */5 * * * *', splaySeconds: 120 },
  // The cron only asks the school-hours plan (options.schedule) each minute whether a test is due.
  throughput: { schedule: '0 * * * * *', splaySeconds: 0, timeoutSeconds: 300 },
};

export const AgentConfig = z
  .object({
    /** Overrides the collector URL stored at enrollment (e.g. after the collector moved). */
    collectorUrl: z.url().optional(),
    upload: z
      .object({
        intervalSeconds: z.number().min(1).max(3600).default(60),
        batchSize: z.number().int().min(1).max(MAX_RESULTS_PER_BATCH).default(200),
        timeoutSeconds: z.number().min(1).max(600).default(30),
        backoffInitialSeconds: z.number().min(0.1).max(3600).default(5),
        backoffMaxSeconds: z.number().min(1).max(86_400).default(900),
      })
      .strict()
      .prefault({}),
    queue: z.object({ maxMegabytes: z.number().min(1).max(10_000).default(50) }).strict().prefault({}),
    health: z.object({ schedule: cron.default('0 */5 * * * *') }).strict().prefault({}),
    deviceFacts: z.object({ schedule: cron.default('0 15 3 * * *') }).strict().prefault({}),
    probes: z
      .record(z.string(), ProbeSchedule.partial({ schedule: true }))
      .default({})
      .transform((given, ctx) => mergeProbeDefaults(given, ctx)),
    /** The uptime connectivity check (docs/uptime.md). */
    connectivity: ConnectivityConfig,
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).strict().prefault({}),
    /** The control channel to the collector (docs/control-channel.md). */
    control: z
      .object({
        enabled: z.boolean().default(true),
        /** Measurement times are corrected by the collector's clock once the device clock is off by more than this. */
        clockThresholdMs: z.number().int().min(100).max(3_600_000).default(2_000),
        backoffInitialSeconds: z.number().min(0.1).max(3600).default(1),
        backoffMaxSeconds: z.number().min(1).max(86_400).default(300),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type AgentConfig = z.infer<typeof AgentConfig>;

function mergeProbeDefaults(given: Record<string, Partial<ProbeSchedule>>, ctx: z.RefinementCtx): Record<string, ProbeSchedule> {
  const out: Record<string, ProbeSchedule> = {};
  for (const name of Object.keys(given)) {
    if (!isScheduledProbe(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `unknown probe '${name}' (known: ${SCHEDULED_PROBES.join(', ')})` });
    }
  }
  for (const name of SCHEDULED_PROBES) {
    const merged = ProbeSchedule.safeParse({ ...DEFAULT_PROBES[name], ...given[name] });
    if (!merged.success) {
      for (const issue of merged.error.issues) ctx.addIssue({ ...issue, path: [name, ...issue.path] } as z.core.$ZodRawIssue);
      continue;
    }
    const options = PROBE_OPTIONS[name].safeParse(merged.data.options);
    if (!options.success) {
      for (const issue of options.error.issues) {
        ctx.addIssue({ ...issue, path: [name, 'options', ...issue.path] } as z.core.$ZodRawIssue);
      }
      continue;
    }
    out[name] = { ...merged.data, options: options.data as Record<string, unknown> };
  }
  return out;
}
