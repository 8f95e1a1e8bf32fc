import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ResultAck } from '../protocol/api.ts';
import type { AgentHealthFields, Result } from '../protocol/results.ts';
import type { AgentConfig } from '../protocol/agent-config.ts';
import { collectDeviceFactsInChild } from './device/facts.ts';
import { DurableQueue } from './queue/durable-queue.ts';
import type { Identity } from './identity/identity.ts';
import { LastResultsWriter } from './status/last-results.ts';
import { startServices, type Running, type Service } from './platform/lifecycle.ts';
import { dataFiles } from './platform/paths.ts';
import { getProbe, PROBES } from './probes/registry.ts';
import type { Probe } from './probes/types.ts';
import type { RunSlot } from './probes/types.ts';
import { Scheduler } from './schedule/scheduler.ts';
import { isBehind } from './status/update-check.ts';
import { Uploader } from './upload/uploader.ts';
import { loadOrCreateSigningKey, registerSigningKey, signResults } from './identity/signing-key.ts';
import { createConnectivityMonitor } from './uptime/index.ts';
import { AGENT_VERSION } from './version.ts';

export interface AgentEvents {
  queued: [Result];
  acked: [Result[], ResultAck[]];
  appendFailed: [Result, Error];
}

export interface AgentDeps {
  dataDir: string;
  config: AgentConfig;
  identity: Identity;
  logger: Logger;
  now?: () => number;
  /** Extra agent_health fields (the control channel's clock_offset_ms and clock_corrected). */
  healthExtra?: () => Partial<AgentHealthFields>;
}

/**
 * The running agent: the scheduler fires probes, every result goes to the durable queue first, and the
 * uploader drains the queue to the collector. Nothing here decides whether the site is up.
 */
export function createAgent(deps: AgentDeps) {
  const { config, identity, logger } = deps;
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const events = new EventEmitter<AgentEvents>();
  const queue = DurableQueue.open<Result>({ dir: dataFiles(deps.dataDir).queue, maxBytes: config.queue.maxMegabytes * 2 ** 20 });
  const collectorUrl = config.collectorUrl ?? identity.collectorUrl;
  const lastResults = new LastResultsWriter(deps.dataDir, AGENT_VERSION, now, (err) => logger.warn({ err }, 'could not write last-results.json (status will be stale)'));
  let warnedBehind: string | undefined;
  /** Logs once per recommended version that this agent is older than what the collector recommends. */
  function noteRecommended(recommended: string | undefined): void {
    if (recommended && recommended !== warnedBehind && isBehind(AGENT_VERSION, recommended)) {
      warnedBehind = recommended;
      logger.warn({ version: AGENT_VERSION, recommended }, `this agent (${AGENT_VERSION}) is older than the version the collector recommends (${recommended}): install the new bundle`);
    }
  }
  // Results are signed once the collector has registered this device's key (docs/evidence.md); until then
  // (an agent enrolled before 0.2.0, or a collector that predates signing) they go unsigned.
  const signingKey = loadOrCreateSigningKey(deps.dataDir);
  let keyRegistered = identity.keyId === signingKey.keyId;
  async function ensureKeyRegistered(): Promise<void> {
    if (keyRegistered) return;
    const outcome = await registerSigningKey(deps.dataDir, identity, signingKey, collectorUrl);
    if (outcome.status === 'registered') {
      keyRegistered = true;
      logger.info({ keyId: outcome.keyId }, 'signing key registered with the collector; results are signed from now on');
    } else if (outcome.status === 'failed') {
      logger.warn({ reason: outcome.message }, 'could not register the signing key; results stay queued or go unsigned');
    }
  }
  const uploader = new Uploader(queue, {
    collectorUrl,
    prepare: (records) => (keyRegistered ? signResults(identity.deviceId, signingKey, records) : records),
    onSigningRefused: async (code, message) => {
      logger.warn({ code, reason: message }, 'collector refused the batch for its signing; registering the key');
      if (code === 'signing_key_unknown') keyRegistered = false;
      await ensureKeyRegistered();
    },
    token: identity.token,
    agentVersion: AGENT_VERSION,
    batchSize: config.upload.batchSize,
    intervalMs: config.upload.intervalSeconds * 1000,
    timeoutMs: config.upload.timeoutSeconds * 1000,
    backoffInitialMs: config.upload.backoffInitialSeconds * 1000,
    backoffMaxMs: config.upload.backoffMaxSeconds * 1000,
    now,
    onAcked: (records, acks, response) => {
      for (const ack of acks.filter((a) => a.status === 'rejected')) {
        logger.warn({ id: ack.id, reason: ack.reason }, 'collector rejected a result; it is deleted');
      }
      for (const ack of acks.filter((a) => a.status === 'held')) {
        logger.warn({ id: ack.id, reason: ack.reason }, 'collector keeps a result in its dead-letter store (InfluxDB refused it); delivered, deleted here');
      }
      // After the acknowledgement is on disk: a test (or an operator at debug level) can tell that the queue
      // has been emptied, not only that the collector stored the results (an upload cut short by a stop keeps them).
      logger.debug({ acknowledged: acks.length, queueDepth: queue.stats().depth }, 'results acknowledged');
      lastResults.uploaded(response?.recommendedAgentVersion);
      noteRecommended(response?.recommendedAgentVersion);
      events.emit('acked', records, acks);
    },
    onFailure: (f) => {
      logger.warn({ kind: f.kind, retryAfterMs: f.retryAfterMs }, `upload failed: ${f.message}`);
      lastResults.uploadFailed(f.message);
    },
  });
  const scheduler = new Scheduler({
    events: {
      onSkippedOverlap: (job) => logger.warn({ job }, 'previous run still going; this run is skipped'),
      onError: (job, err) => logger.error({ job, err }, 'job failed'),
    },
  });

  // Probes that learn from every queued result (throughput's idle-RTT baseline from the tcp runs).
  const observers = Object.values(PROBES).filter((p) => p.observe !== undefined) as Probe<unknown>[];

  function record(result: Result): void {
    try {
      queue.append(result);
    } catch (err) {
      logger.error({ err, probe: result.probe }, 'could not write the result to the queue; it is lost');
      events.emit('appendFailed', result, err as Error);
      return;
    }
    logger.debug({ id: result.id, probe: result.probe, target: result.target, code: result.code, measuredAt: result.measuredAt }, 'result queued');
    lastResults.result(result);
    for (const probe of observers) {
      try {
        probe.observe!(result, { dataDir: deps.dataDir, collectorUrl });
      } catch (err) {
        logger.warn({ err, probe: probe.name }, 'a probe could not learn from a result');
      }
    }
    events.emit('queued', result);
    uploader.kick();
  }

  async function runProbe(name: string, signal: AbortSignal, only?: string[], slot?: RunSlot): Promise<Result[]> {
    const schedule = config.probes[name]!;
    const probe = getProbe(name);
    const targets = only ?? (schedule.targets?.length ? schedule.targets : probe.defaultTargets({ collectorUrl }));
    const recorded: Result[] = [];
    for (const target of targets) {
      if (signal.aborted) break;
      const ctx = { signal, now, deviceToken: identity.token, dataDir: deps.dataDir, collectorUrl, ...(slot ? { slot } : {}) };
      // A throughput test makes one result per direction.
      const results = probe.runMany ? await probe.runMany(target, schedule.options, ctx) : [await probe.run(target, schedule.options, ctx)];
      for (const result of results) record(result);
      recorded.push(...results);
    }
    return recorded;
  }

  function healthResult(): Result {
    const q = queue.stats();
    const u = uploader.stats;
    const at = now();
    return {
      id: randomUUID(),
      probe: 'agent_health',
      target: 'self',
      measuredAt: at,
      code: 'ok',
      fields: {
        queue_depth: q.depth,
        queue_bytes: q.bytes,
        ...(q.oldestPending ? { oldest_unsent_age_s: Math.max(0, (at - q.oldestPending.measuredAt) / 1000) } : {}),
        evicted_total: q.evictedTotal,
        skipped_corrupt_total: q.skippedCorruptTotal,
        torn_tail_dropped_total: q.tornTailDroppedTotal,
        rejected_total: u.rejected,
        append_failed_total: q.appendFailedTotal,
        ...(u.lastUploadAt ? { last_upload_at: u.lastUploadAt } : {}),
        upload_failures: u.failures,
        uptime_s: Math.round((at - startedAt) / 1000),
        rss_mb: Math.round(process.memoryUsage.rss() / 2 ** 20),
        ...behindField(),
        ...deps.healthExtra?.(),
      },
    };
  }

  function behindField(): { behind_recommended?: boolean } {
    const behind = isBehind(AGENT_VERSION, lastResults.recommendedAgentVersion);
    return behind === undefined ? {} : { behind_recommended: behind };
  }

  async function recordDeviceFacts(): Promise<void> {
    try {
      record(await collectDeviceFactsInChild(55_000));
    } catch (err) {
      logger.warn({ err }, 'could not read device facts');
    }
  }

  for (const [name, schedule] of Object.entries(config.probes)) {
    if (!schedule.enabled) continue;
    // A probe with its own plan (throughput's school-hours slots) is asked at each tick of its cron.
    const gate = getProbe(name).gate?.(schedule.options, { now, dataDir: deps.dataDir });
    scheduler.add({
      name,
      cron: schedule.schedule,
      splayMs: schedule.splaySeconds * 1000,
      timeoutMs: schedule.timeoutSeconds * 1000,
      run: async (signal) => {
        if (gate && !gate.due()) return;
        // The plan may follow up on what the run found (a retry on a busy line, a confirmation).
        const results = await runProbe(name, signal, undefined, gate?.runContext?.());
        gate?.after?.(results);
      },
    });
  }
  scheduler.add({ name: 'agent_health', cron: config.health.schedule, splayMs: 0, timeoutMs: 5_000, run: async () => record(healthResult()) });
  scheduler.add({ name: 'device_facts', cron: config.deviceFacts.schedule, splayMs: 0, timeoutMs: 60_000, run: recordDeviceFacts });

  // --- uptime: connectivity checks, slots, outages and start/stop events (docs/uptime.md) ---
  const uptime = createConnectivityMonitor({
    config: config.connectivity,
    collectorUrl,
    stateFile: dataFiles(deps.dataDir).uptime,
    deviceId: identity.deviceId,
    record,
    now,
    log: logger,
  });
  // --- end uptime ---

  const stopUploader = new AbortController();
  let uploading: Promise<void> | undefined;
  // Start order; they stop in reverse: the scheduler and uptime (whose stop writes the stop event, the partial
  // slot and an ended outage) before the uploader, and the queue last.
  const services: Service[] = [
    {
      name: 'queue',
      start() {
        const { cursor, tornTailDropped, newlyCorrupt } = queue.recovery;
        // A missing cursor is a new queue; a corrupt or stale one, or a cut tail, means the disk or a crash damaged it.
        if (cursor === 'corrupt' || cursor === 'stale' || tornTailDropped || newlyCorrupt) logger.warn({ recovery: queue.recovery }, 'the result queue was repaired at start');
        lastResults.flush();
        noteRecommended(lastResults.recommendedAgentVersion);
      },
      stop: () => queue.close(),
    },
    {
      name: 'uploader',
      start() {
        // run() handles delivery failures itself; anything else is a bug to log, not a reason to exit.
        // The first batch goes signed when the key registers now; if it cannot, the uploader retries it on a 409.
        uploading = ensureKeyRegistered()
          .catch((err: unknown) => logger.warn({ err }, 'signing key registration failed'))
          .then(() => uploader.run(stopUploader.signal))
          .catch((err: unknown) => logger.error({ err }, 'uploader stopped'));
      },
      async stop() {
        stopUploader.abort();
        await uploading;
      },
    },
    ...(uptime ? [{ name: 'uptime', start: () => uptime.start(), stop: () => uptime.stop() }] : []),
    {
      name: 'scheduler',
      start() {
        scheduler.start();
        void scheduler.trigger('device_facts');
      },
      stop: () => scheduler.stop(),
    },
  ];
  let running: Running | undefined;

  return {
    events,
    queue,
    uploader,
    scheduler,
    collectorUrl,
    /** Queues a result made outside the schedule (agent events of the control channel). */
    record,
    /** Runs a configured probe once now (a remote command); its results go through the queue as usual. */
    runNow: (name: string, targets: string[] | undefined, signal: AbortSignal) => runProbe(name, signal, targets),
    uptime,
    start(): void {
      logger.info({ site: identity.site.code, device: identity.deviceId, collector: collectorUrl, version: AGENT_VERSION }, 'agent started');
      running = startServices(services, (name, err) => logger.error({ err, service: name }, 'could not stop cleanly'));
    },
    async stop(): Promise<void> {
      // Never started: only the queue, opened above, is open.
      if (running) await running.stop();
      else queue.close();
      logger.info('agent stopped');
    },
  };
}
export type Agent = ReturnType<typeof createAgent>;
