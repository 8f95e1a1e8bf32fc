// Puts the Hono app on a socket: opens the registry, connects InfluxDB, listens, and shuts down cleanly
// (stop accepting, let in-flight requests finish so no acknowledgement is lost, then close the store).
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { startAlerts } from './alerts/start.ts';
import { createApp } from './app.ts';
import { loadEvidenceConfig } from './evidence/config.ts';
import { EvidenceService } from './evidence/service.ts';
import { consoleSettings } from './console/config.ts';
import type { ComplianceSetup } from './compliance/setup.ts';
import { assertStrongSecrets, type CollectorConfig, redactConfig } from './config.ts';
import { startGrafanaSupport } from './grafana/startup.ts';
import { createInfluxWriter } from './influx/writer.ts';
import { createLogger } from './logger.ts';
import { Registry } from './registry/registry.ts';
import { createThroughputService } from './throughput/service.ts';
import { createControlHub } from './control/hub.ts';
import { COLLECTOR_VERSION } from './version.ts';

export interface RunningCollector {
  /** Base URL the server listens on (with the real port when configured with port 0). */
  url: string;
  port: number;
  /** The evidence feature (collector/evidence/): its store, log and sweep. */
  evidence: EvidenceService;
  close(): Promise<void>;
}

/** The zone of evidence-log days when no calendar is configured (the shipped calendar's). */
const DEFAULT_TIME_ZONE = 'Asia/Ho_Chi_Minh';

export interface StartOptions {
  logger?: Logger;
  /** Epoch ms for the app and the evidence log; injectable so tests can deliver a month day by day. */
  clock?: () => number;
  /** How long close() waits for in-flight requests before cutting connections. */
  shutdownGraceMs?: number;
}

export async function startCollector(config: CollectorConfig, options: StartOptions = {}): Promise<RunningCollector> {
  // Before anything opens: a placeholder or weak secret stops the start with one line per variable.
  assertStrongSecrets(config);
  const logger = options.logger ?? createLogger(config.logLevel);
  logger.info({ config: redactConfig(config), version: COLLECTOR_VERSION }, 'starting collector');
  const registry = await Registry.open(config.dataDir);
  const writer = createInfluxWriter(config.influx, { logger });
  // Not fatal: InfluxDB may come up after the collector; agents get 503s until it does.
  await writer.ensureDatabase();
  // Grafana: hourly rollups and the site_info measurement (collector/grafana/, docs/grafana.md).
  const stopGrafanaSupport = await startGrafanaSupport({ config, registry, writer, logger });
  // ndt7 (WebSocket) and the multi-stream HTTP endpoints are served beside the Hono app (collector/throughput/).
  let throughput: Awaited<ReturnType<typeof createThroughputService>>;
  try {
    throughput = await createThroughputService({ registry, dataDir: config.dataDir, testTokenKey: config.testTokenKey, logger, limits: config.throughput });
  } catch (error) {
    stopGrafanaSupport();
    await registry.close();
    throw error;
  }
  // Verdicts (collector/compliance/) and alerts (collector/alerts/): a bad calendar, profiles or alerts file
  // stops the start with its path, and what was already started is stopped again.
  let compliance: ComplianceSetup | undefined;
  let alerts: Awaited<ReturnType<typeof startAlerts>>;
  try {
    // Loaded here rather than at the top so the registry commands of the CLI (which import this file) start fast.
    if (config.compliance) compliance = (await import('./compliance/setup.ts')).createCompliance(config.compliance, { registry, writer, logger });
    // Alert rules are evaluated on a tick by whichever collector process holds the lease.
    alerts = await startAlerts({ file: config.alertsFile, dataDir: config.dataDir, registry, writer, logger, ...(compliance ? { calendar: compliance.calendar, profiles: compliance.profiles } : {}) });
  } catch (error) {
    compliance?.stop();
    stopGrafanaSupport();
    await throughput.close();
    await registry.close();
    throw error;
  }
  // Signed results and the evidence log (collector/evidence/): days are the calendar's.
  const evidence = new EvidenceService(config.evidence ?? loadEvidenceConfig(config.dataDir, {}), registry.store, compliance?.calendar.timeZone ?? DEFAULT_TIME_ZONE, { logger, ...(options.clock ? { clock: options.clock } : {}) });
  evidence.start();
  const app = createApp({ alerts, throughput, compliance, evidence, registry, writer, logger, ...(options.clock ? { clock: options.clock } : {}), version: COLLECTOR_VERSION, adminToken: config.adminToken, recommendedAgentVersion: config.recommendedAgentVersion,
    maxBodyBytes: config.maxBodyBytes, limits: config.limits, trustProxy: config.trustProxy, publicUrl: config.publicUrl,
    console: { settings: config.console ?? consoleSettings({}) }, guardOptions: { maxTargetsPerProbe: config.maxTargetsPerProbe } });
  // The agents' control channel (collector/control/): presence, clocks, remote configuration, commands.
  const control = createControlHub({ registry, writer, logger, options: config.control, trustProxy: config.trustProxy });
  // Revocations and moves made by the CLI, another worker or (PostgreSQL) another collector reach this
  // process's open WebSockets at once when notified, within a second by polling otherwise.
  const stopWatching = registry.watchChanges(1000, (err) => logger.warn({ err }, 'could not read registry changes'));

  let closing: Promise<void> | undefined;
  let server: Server;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve(
      {
        fetch: app.fetch,
        hostname: config.host,
        port: config.port,
        // The throughput streams take their requests before Hono; everything else goes to the app.
        createServer: ((options: object, listener: (req: never, res: never) => void) =>
          createServer(options, (req, res) => throughput.handleRequest(req, res) || listener(req as never, res as never))) as typeof createServer,
      },
      (info: AddressInfo) => resolve(info.port),
    ) as Server;
    server.on('upgrade', (req, socket, head: Buffer) => {
      if (!throughput.handleUpgrade(req, socket, head) && !control.handleUpgrade(req, socket, head)) socket.destroy();
    });
    server.once('error', reject);
    // A keep-alive connection that finishes its last request during shutdown would otherwise hold
    // close() open until the client's idle timeout; drop each one as soon as it goes idle.
    server.on('request', (_req, res: ServerResponse) => {
      res.once('finish', () => {
        if (closing) setImmediate(() => server.closeIdleConnections());
      });
    });
  }).catch(async (error: unknown) => {
    await control.close();
    compliance?.stop();
    await alerts.close();
    await evidence.close();
    stopGrafanaSupport();
    await throughput.close();
    await registry.close();
    throw error;
  });
  // A wildcard bind is reachable on loopback; report that, since "0.0.0.0" is not an address to call.
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, publicUrl: config.publicUrl }, 'collector listening');

  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      // Open ndt7 tests are cut (they would hold the close for up to 15 s); HTTP streams end with their connections.
      const throughputClosed = throughput.close();
      // Agents are told to come back later, spread out, before their sockets close.
      const controlClosed = control.close();
      const timer = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
      timer.unref();
      // close() stops accepting and resolves once every in-flight request has been answered.
      server.close(async () => {
        clearTimeout(timer);
        await controlClosed.catch((err: unknown) => logger.warn({ err }, 'control channel shutdown failed'));
        stopWatching();
        compliance?.stop();
        await alerts.close();
        await evidence.close();
        stopGrafanaSupport();
        await throughputClosed.catch((err: unknown) => logger.warn({ err }, 'throughput shutdown failed'));
        await registry.close();
        logger.info('collector stopped');
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  return { url, port, evidence, close };
}

/** SIGTERM/SIGINT (or the given signals) → graceful close, then exit. A second signal exits at once. */
export function closeOnSignals(collector: RunningCollector, logger: Logger, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    collector.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, onSignal);
}
