// Options of the throughput probe (probes.throughput.options): method, data budget and the school-hours
// plan. The probe lives in agent/probes/throughput/.
import { z } from 'zod';
import { isValidTimeZone } from '../time-zone.ts';

/** Boost handling of throughput tests (agent/probes/throughput/sustained.ts, docs/throughput.md). */
export const BoostOptions = z
  .object({
    /** false: no boost handling (stop when stable from the warm-up on, as before). */
    enabled: z.boolean().default(true),
    /** A step down by at least this factor (peak / sustained) is a boost. */
    minStepRatio: z.number().min(1.1).max(10).default(1.3),
    /** Learn the site's boost afresh (one long test per direction) after this many days. */
    relearnDays: z.number().min(0.5).max(365).default(7),
    /** Length of a learning test (http; ndt7 servers stop at 10 s). */
    longTestSeconds: z.number().min(5).max(30).default(15),
    /** A test with a learned boost runs until this multiple of the boost's bytes went through, or the step is seen. */
    margin: z.number().min(1).max(3).default(1.25),
  })
  .strict()
  .prefault({});
export type BoostOptions = z.infer<typeof BoostOptions>;

/** Most parallel streams the http method opens; the collector lets one device hold this many at once. */
export const MAX_HTTP_STREAMS = 16;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'time as HH:MM (24 h)');

export const ThroughputOptions = z
  .object({
    /** ndt7 (one WebSocket stream, the M-Lab protocol) or http (K parallel streams). */
    method: z.enum(['ndt7', 'http']).default('ndt7'),
    directions: z.array(z.enum(['download', 'upload'])).min(1).max(2).default(['download', 'upload']),
    /** Parallel streams of the http method. */
    streams: z.number().int().min(1).max(MAX_HTTP_STREAMS).default(4),
    /** Longest transfer per direction; ndt7 servers stop at 10 s whatever is asked. */
    maxDurationSeconds: z.number().min(1).max(30).default(10),
    /** Discarded at the start of each transfer (slow start, token-bucket bursts). */
    warmupMs: z.number().int().min(0).max(10_000).default(1000),
    /** Steady-state time needed before a test may stop early. */
    minSteadyMs: z.number().int().min(500).max(20_000).default(1500),
    /** Stop early once the estimate moved less than this (percent) over the last second. */
    tolerancePct: z.number().min(0.5).max(20).default(2),
    /** false: always run to maxDurationSeconds or the byte cap (like a fixed 10 s ndt7 test). */
    adaptive: z.boolean().default(true),
    stallSeconds: z.number().min(1).max(30).default(4),
    connectTimeoutSeconds: z.number().min(1).max(60).default(10),
    /** TCP-connect round trips to the server during the transfer (latency under load, RPM). */
    loadedLatency: z.boolean().default(true),
    latencyIntervalMs: z.number().int().min(100).max(5_000).default(250),
    /** Ask the collector for the site's lease first, so two agents of one site never test at once. */
    arbitrate: z.boolean().default(true),
    leaseWaitSeconds: z.number().min(0).max(3_600).default(120),
    budget: z
      .object({
        monthlyMegabytes: z.number().min(10).max(10_000_000).default(3000),
        pauseBelowMegabytes: z.number().min(0).max(1_000_000).default(150),
        perTestMaxMegabytes: z.number().min(1).max(1000).default(40),
      })
      .strict()
      .prefault({}),
    schedule: z
      .object({
        testsPerDay: z.number().int().min(0).max(96).default(4),
        start: hhmm.default('07:30'),
        end: hhmm.default('16:30'),
        weekdays: z.array(z.number().int().min(0).max(6)).max(7).default([1, 2, 3, 4, 5]),
        timeZone: z.string().refine(isValidTimeZone, 'not a time zone known to this Node (e.g. Asia/Ho_Chi_Minh)').default('Asia/Ho_Chi_Minh'),
      })
      .strict()
      .prefault({}),
    /** Before a test: is the school using the line? Postpone, then flag (docs/throughput.md "Busy line"). */
    busyLine: z
      .object({
        enabled: z.boolean().default(true),
        /** Busy when the idle RTT to the server exceeds the site's recent baseline by this much (ms) ... */
        rttInflationMs: z.number().min(1).max(10_000).default(30),
        /** ... and by this share of the baseline (%). */
        rttInflationPct: z.number().min(0).max(10_000).default(50),
        /** Busy when this computer's own interface moves more than this (Mbit/s) just before the test. */
        ifaceMbps: z.number().min(0.01).max(10_000).default(0.5),
        /** How long the interface counters are watched before the test (s). */
        watchSeconds: z.number().min(0.5).max(30).default(2),
        /** A test on a busy line is tried again this much later, at most maxPostpones times, within the day. */
        postponeMinutes: z.number().min(0.05).max(240).default(15),
        maxPostpones: z.number().int().min(0).max(20).default(3),
        /** Cross traffic beside the test, beyond which the test is flagged: this many Mbit/s and this % of its rate. */
        crossMbps: z.number().min(0.01).max(10_000).default(0.5),
        crossPct: z.number().min(0).max(100).default(10),
      })
      .strict()
      .prefault({}),
    /** A download under the floor is confirmed by one more test within the hour (docs/throughput.md "Confirmation"). */
    confirm: z
      .object({
        enabled: z.boolean().default(true),
        /** The floor: the default profile's (4g-school: 95 % of tests ≥ 5 Mbit/s, QCVN 81:2019). */
        belowMbps: z.number().min(0).max(100_000).default(5),
        /** The confirmation runs at a random moment this many minutes after the test. */
        minDelayMinutes: z.number().min(0.05).max(60).default(10),
        maxDelayMinutes: z.number().min(0.05).max(60).default(50),
      })
      .strict()
      .prefault({})
      .refine((c) => c.minDelayMinutes <= c.maxDelayMinutes, { message: 'minDelayMinutes must be at most maxDelayMinutes', path: ['minDelayMinutes'] }),
    /** The router's round trip during the test and the local link rate say when the LAN was the bottleneck. */
    lanAttribution: z.boolean().default(true),
    /** Boosts: learn the site's boost, run past it, report the sustained rate (docs/throughput.md). */
    boost: BoostOptions,
    /** M-Lab's public servers (target "mlab"): off by default; M-Lab publishes the client's IP address. */
    mlab: z.object({ enabled: z.boolean().default(false), minIntervalMinutes: z.number().min(36).max(100_000).default(360) }).strict().prefault({}),
  })
  .strict()
  .prefault({});
export type ThroughputOptions = z.infer<typeof ThroughputOptions>;
