import type { Result, ThroughputFields } from '../../../protocol/results.ts';
import { DataBudget, HEADER_ALLOWANCE } from './budget.ts';
import { FollowUpStore } from './follow-up-store.ts';
import { ThroughputPlan } from './plan.ts';
import { abortCode } from '../errors.ts';
import { round3 } from '../latency-stats.ts';
import { resolveHost } from '../resolve.ts';
import { guarded, makeResult, type ResultOf } from '../result.ts';
import { collectorEndpoint } from '../target.ts';
import { ThroughputOptions } from '../../../protocol/probe-options/throughput.ts';
import type { Probe, ProbeRunContext } from '../types.ts';
import { acquireSiteLease, releaseSiteLease } from './lease.ts';
import { noteTcpRun } from './busy-line.ts';
import { beforeTest, postponeDetail, watchDirection } from './conditions.ts';
import { loadedRttSampler, type LatencyTarget } from './loaded-latency.ts';
import type { Direction, TransferOutcome, TransferPlan } from './transfer.ts';
import { BoostProfile } from './boost-profile.ts';
import { sustainedFields, SustainedTracker } from './sustained.ts';

const MB = 1_000_000;


type ThroughputResult = ResultOf<'throughput'>;
const METHOD_TAG = { ndt7: 'ndt7', http: 'http_multistream' } as const;

function emptyFields(server: string, streams: number): ThroughputFields {
  return { bytes: 0, budget_bytes: 0, duration_ms: 0, warmup_ms: 0, streams, server, stopped_early: false, stop_reason: 'not_started', byte_cap: 0 };
}

function wsUrl(base: string, path: string): string {
  const u = new URL(path, base.endsWith('/') ? base : `${base}/`);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.searchParams.set('client_name', 'songcheck-agent');
  return u.toString();
}

/** Downloads ask the server to stop at the cap (`max_bytes`, honoured by songcheck collectors; M-Lab ignores it). */
function withMaxBytes(url: string, direction: Direction, capBytes: number): string {
  if (direction !== 'download') return url;
  const u = new URL(url);
  u.searchParams.set('max_bytes', String(Math.floor(capBytes)));
  return u.toString();
}

/** Where one run tests: our collector (with the device token) or an M-Lab server found through Locate. */
interface Server {
  label: string;
  base?: string;
  urls?: { download: string; upload: string };
  token?: string;
  latency?: LatencyTarget;
}

async function runAll(target: string, options: ThroughputOptions, ctx: ProbeRunContext): Promise<ThroughputResult[]> {
  const method = METHOD_TAG[options.method];
  const streams = options.method === 'http' ? options.streams : 1;
  const directions = options.directions as Direction[];
  const fail = (code: Result['code'], detail: string, extra: Partial<ThroughputFields> = {}) =>
    directions.map((direction) => {
      const r = makeResult('throughput', target, Math.floor(ctx.now()), code, { ...emptyFields('-', streams), ...extra }, detail) as ThroughputResult;
      return { ...r, method, direction };
    });

  // 1. The server.
  let server: Server;
  if (target === 'mlab') {
    if (!options.mlab.enabled) return fail('unavailable', 'M-Lab tests are off (probes.throughput.options.mlab.enabled)');
    if (options.method !== 'ndt7') return fail('error', 'M-Lab servers speak ndt7 only');
    if (!ctx.dataDir) return fail('unavailable', 'M-Lab tests need the agent data directory (rate-limit state)');
    // Loaded only when M-Lab is used: it is off by default.
    const { locate, mlabWait } = await import('./locate.ts');
    const wait = mlabWait(ctx.dataDir, options.mlab.minIntervalMinutes * 60_000, ctx.now());
    if (wait) return fail('unavailable', wait);
    const found = await locate(ctx.dataDir, ctx.now(), ctx.signal);
    if ('error' in found) return fail('unavailable', found.error);
    server = { label: found.machine, urls: { download: found.download, upload: found.upload } };
  } else {
    const c = collectorEndpoint(target);
    if (!c) return fail('error', 'target must be the collector URL (http:// or https://) or "mlab"');
    server = {
      label: `${c.host}:${c.port}`,
      base: c.base,
      urls: { download: wsUrl(c.base, 'ndt/v7/download'), upload: wsUrl(c.base, 'ndt/v7/upload') },
      ...(ctx.deviceToken ? { token: ctx.deviceToken } : {}),
    };
  }
  const host = new URL(server.urls!.download).hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(new URL(server.urls!.download).port) || (server.urls!.download.startsWith('wss:') ? 443 : 80);

  // 2. The budget.
  const budget = ctx.dataDir
    ? new DataBudget(
        ctx.dataDir,
        {
          monthlyBytes: options.budget.monthlyMegabytes * MB,
          pauseBelowBytes: options.budget.pauseBelowMegabytes * MB,
          perTestMaxBytes: options.budget.perTestMaxMegabytes * MB,
          timeZone: options.schedule.timeZone,
        },
        ctx.now,
      )
    : undefined;
  const budgetFields = (): Partial<ThroughputFields> => {
    if (!budget) return {};
    const s = budget.state();
    return { budget_used_bytes: s.usedBytes, budget_left_bytes: s.leftBytes };
  };
  const boostProfile = ctx.dataDir ? new BoostProfile(ctx.dataDir) : undefined;
  const first = budget?.nextCap();
  if (first && 'paused' in first) return fail('unavailable', first.paused, { ...budgetFields(), server: server.label });

  // 3. The site's lease (our collector only: it is the one that arbitrates).
  const leaseBase = server.base ?? ctx.collectorUrl;
  let leaseId: string | undefined;
  let leaseNote: string | undefined;
  if (options.arbitrate && leaseBase && ctx.deviceToken) {
    const lease = await acquireSiteLease(leaseBase, ctx.deviceToken, Math.ceil(directions.length * (options.maxDurationSeconds + 10)), options.leaseWaitSeconds * 1000, ctx.signal);
    if ('busy' in lease) return fail('unavailable', `another device of this site is testing; waited ${Math.round(lease.waitedMs / 1000)} s`, { server: server.label });
    if ('error' in lease) leaseNote = `no site lease (${lease.error})`;
    else leaseId = lease.leaseId;
  }

  try {
    // 4. Idle latency, then each direction.
    let latency: LatencyTarget | undefined;
    if (options.loadedLatency || options.busyLine.enabled) {
      const resolved = await resolveHost(host, 5_000, ctx.signal);
      if ('address' in resolved) latency = { address: resolved.address, port };
    }
    // Is the line busy (postpone, or test and flag)? The router and the local link (conditions.ts).
    const conditions = await beforeTest({ options, latency, dataDir: ctx.dataDir, slot: ctx.slot, signal: ctx.signal, now: ctx.now });
    if (conditions.postpone) return fail('unavailable', postponeDetail(conditions, options, ctx.slot!), { ...conditions.fields, server: server.label });
    const idle = options.loadedLatency ? conditions.idleRttMs : undefined;
    const results: ThroughputResult[] = [];
    for (const direction of directions) {
      const r = await guarded('throughput', target, ctx, emptyFields(server.label, streams), async (measuredAt) => {
        const done = (code: Result['code'], fields: ThroughputFields, detail?: string) => ({ ...makeResult('throughput', target, measuredAt, code, fields, detail), method, direction }) as ThroughputResult;
        if (ctx.signal.aborted) return done(abortCode(ctx.signal), { ...emptyFields(server.label, streams), ...budgetFields() }, 'stopped before this direction started');
        const cap = budget?.nextCap() ?? { capBytes: options.budget.perTestMaxMegabytes * MB };
        if ('paused' in cap) return done('unavailable', { ...emptyFields(server.label, streams), ...budgetFields() }, cap.paused);
        const reservation = budget?.reserve(Math.round(cap.capBytes * 1.1 * HEADER_ALLOWANCE));
        const boostPlan = boostProfile?.plan(direction, server.label, options.boost, ctx.now()) ?? { long: false, expectedBoostBytes: 0 };
        const tracker = new SustainedTracker(options.boost, boostPlan);
        // A learning test, or one that must run past a learned boost, may run to longTestSeconds (http).
        const seconds = boostPlan.long || boostPlan.expectedBoostBytes > 0 ? Math.max(options.maxDurationSeconds, options.boost.longTestSeconds) : options.maxDurationSeconds;
        const maxDurationMs = (options.method === 'ndt7' ? Math.min(seconds, 10) : seconds) * 1000;
        const sampler = latency && options.loadedLatency ? loadedRttSampler(latency, options.latencyIntervalMs) : undefined;
        const watch = await watchDirection(conditions, { options });
        let lastProgress = 0;
        const plan: TransferPlan = {
          direction,
          capBytes: cap.capBytes,
          maxDurationMs,
          stallMs: options.stallSeconds * 1000,
          connectTimeoutMs: options.connectTimeoutSeconds * 1000,
          adaptive: options.adaptive,
          estimator: { warmupMs: options.warmupMs, minSteadyMs: options.minSteadyMs, tolerancePct: options.tolerancePct },
          sustained: tracker,
          signal: ctx.signal,
          onTick(e) {
            if (sampler && e.elapsedMs >= options.warmupMs) sampler.startAt(performance.now());
            if (e.elapsedMs >= options.warmupMs) watch.startAt(performance.now());
            const t = performance.now();
            if (ctx.progress && t - lastProgress >= 250) {
              lastProgress = t;
              ctx.progress(`${direction} ${options.method}: ${e.mbps === undefined ? 'warming up' : `${e.mbps.toFixed(2)} Mbit/s`}  ${(e.bytes / MB).toFixed(1)} MB  ${(e.elapsedMs / 1000).toFixed(1)} s`);
            }
          },
        };
        const abort = abortCode(ctx.signal);
        const outcome: TransferOutcome =
          options.method === 'ndt7'
            ? // Loaded on first use: the WebSocket client is a few MB resident that an idle agent should not carry.
              await (await import('./ndt7.ts')).runNdt7({ url: withMaxBytes(server.urls![direction], direction, cap.capBytes), ...(server.token ? { token: server.token } : {}) }, plan, abort)
            : await (await import('./http-multi.ts')).runHttpMulti(server.base!, server.token, streams, plan, abort);
        const loaded = sampler ? await sampler.finish() : undefined;
        const around = await watch.finish({ direction, socketBytes: outcome.socketBytes, mbps: outcome.estimate.mbps, serverLoadedMs: loaded?.median });
        const budgetBytes = Math.round(outcome.socketBytes * HEADER_ALLOWANCE);
        if (budget && reservation) budget.settle(reservation, budgetBytes);
        const e = outcome.estimate;
        const seen = tracker.summary(outcome.bytes);
        boostProfile?.record(direction, server.label, boostPlan, seen, outcome.code === 'ok', ctx.now());
        const fields: ThroughputFields = {
          ...(e.mbps !== undefined && e.steadyMs > 0 ? { mbps: round3(e.mbps) } : {}),
          ...(outcome.serverMbps !== undefined ? { server_mbps: round3(outcome.serverMbps) } : {}),
          bytes: outcome.bytes,
          budget_bytes: budgetBytes,
          duration_ms: round3(outcome.durationMs),
          warmup_ms: options.warmupMs,
          streams: outcome.streams,
          server: outcome.server.slice(0, 200),
          stopped_early: outcome.stopReason === 'stable',
          stop_reason: outcome.stopReason,
          byte_cap: cap.capBytes,
          ...(idle !== undefined ? { idle_rtt_ms: idle } : {}),
          ...(loaded && loaded.median !== undefined
            ? { loaded_rtt_median_ms: loaded.median, loaded_rtt_p95_ms: loaded.p95!, loaded_rtt_samples: loaded.samples, ...(loaded.rpm ? { rpm: loaded.rpm } : {}) }
            : {}),
          ...budgetFields(),
          ...conditions.fields,
          ...around,
          ...sustainedFields(seen, boostPlan),
        };
        // A figure taken inside the site's learned boost is not the sustained rate: partial, with the reason.
        const insideBoost = outcome.code === 'ok' && seen.insideBoost;
        const boostNote = insideBoost ? `the test ended inside the site's boost (${(boostPlan.expectedBoostBytes / MB).toFixed(1)} MB learned): mbps may be the boost's rate` : undefined;
        return done(insideBoost ? 'partial' : outcome.code, fields, [outcome.detail, boostNote, leaseNote].filter(Boolean).join('; ') || undefined);
      });
      // guarded() may replace a failed body with its own error result, which lacks the throughput tags.
      results.push({ ...r, method, direction });
    }
    return results;
  } finally {
    if (leaseId && leaseBase && ctx.deviceToken) await releaseSiteLease(leaseBase, ctx.deviceToken, leaseId);
  }
}

export const throughputProbe: Probe<ThroughputOptions> = {
  name: 'throughput',
  description: 'Download and upload rate (ndt7 or multi-stream HTTP) with latency under load, within a monthly data budget',

  defaultTargets({ collectorUrl }) {
    const c = collectorEndpoint(collectorUrl);
    return c ? [c.base] : [];
  },

  async run(target, rawOptions, ctx) {
    return (await this.runMany!(target, rawOptions, ctx))[0]!;
  },

  // The collector's TCP-connect runs are the idle baseline a busy line is judged against (docs/throughput.md).
  observe(result, { dataDir, collectorUrl }) {
    noteTcpRun(dataDir, result, collectorUrl);
  },

  // The cron (every minute by default) only asks; tests run at the plan's random moments of school hours.
  gate(options, { now, dataDir }) {
    return new ThroughputPlan(options.schedule, now, Math.random, { busyLine: options.busyLine, confirm: options.confirm }, dataDir ? new FollowUpStore(dataDir) : undefined);
  },

  async runMany(target, rawOptions, ctx) {
    const parsed = ThroughputOptions.safeParse(rawOptions);
    if (!parsed.success) {
      const r = makeResult('throughput', target, Math.floor(ctx.now()), 'error', emptyFields('-', 1), `invalid options: ${parsed.error.issues[0]?.message}`);
      return [{ ...r, method: 'ndt7', direction: 'download' } as ThroughputResult];
    }
    try {
      return await runAll(target, parsed.data, ctx);
    } catch (err) {
      const r = makeResult('throughput', target, Math.floor(ctx.now()), 'error', emptyFields('-', 1), `unexpected: ${(err as Error).message}`);
      return [{ ...r, method: METHOD_TAG[parsed.data.method], direction: 'download' } as ThroughputResult];
    }
  },
};
