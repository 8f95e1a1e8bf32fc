// The collector's composition root: starts its services in order on one list (collector/lifecycle.ts), puts
// the Hono app on a socket, and shuts down cleanly in reverse: stop accepting, let in-flight requests finish
// so no acknowledgement is lost, stop the features, close the store last.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { startAlerts } from './alerts/start.ts';
import { createApp } from './app.ts';
import { loadEvidenceConfig } from './evidence/config.ts';
import { EvidenceService } from './evidence/service.ts';
import { consoleSettings } from './console/config.ts';
import { assertStrongSecrets, type CollectorConfig, redactConfig } from './config.ts';
import { startGrafanaSupport } from './grafana/startup.ts';
import { createInfluxWriter } from './influx/writer.ts';
import { once, Services } from './lifecycle.ts';
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
  // The services in start order; they stop in reverse (collector/lifecycle.ts), the store last. A service
  // that cannot start (a bad calendar, profiles or alerts file) stops those before it.
  const services = new Services(logger);
  const registry = await services.start('registry', () => Registry.open(config.dataDir), (r) => r.close());
  const writer = await services.start('InfluxDB writer', async () => {
    const w = createInfluxWriter(config.influx, { logger });
    // Not fatal: InfluxDB may come up after the collector; agents get 503s until it does.
    await w.ensureDatabase();
    return w;
  });
  // Grafana: hourly rollups and the site_info measurement (collector/grafana/, docs/grafana.md).
  await services.start('Grafana support', () => startGrafanaSupport({ config, registry, writer, logger }), (stop) => stop());
  // ndt7 (WebSocket) and the multi-stream HTTP endpoints are served beside the Hono app (collector/throughput/).
  // Its stop is begun early by the HTTP server's (open ndt7 tests are cut at once) and awaited in its turn.
  const throughput = await services.start('throughput', () => createThroughputService({ registry, dataDir: config.dataDir, testTokenKey: config.testTokenKey, logger, limits: config.throughput }), () => stopThroughput());
  const stopThroughput = once(() => throughput.close());
  // Verdicts (collector/compliance/), loaded here rather than at the top so the registry commands of the
  // CLI (which import this file) start fast.
  const compliance = config.compliance
    ? await services.start('compliance', async () => (await import('./compliance/setup.ts')).createCompliance(config.compliance!, { registry, writer, logger }), (c) => c.stop())
    : undefined;
  // Alert rules are evaluated on a tick by whichever collector process holds the lease.
  const alerts = await services.start(
    'alerts',
    () => startAlerts({ file: config.alertsFile, dataDir: config.dataDir, registry, writer, logger, ...(compliance ? { calendar: compliance.calendar, profiles: compliance.profiles } : {}) }),
    (a) => a.close(),
  );
  // Signed results and the evidence log (collector/evidence/): days are the calendar's.
  const evidence = await services.start(
    'evidence',
    () => {
      const e = new EvidenceService(config.evidence ?? loadEvidenceConfig(config.dataDir, {}), registry.store, compliance?.calendar.timeZone ?? DEFAULT_TIME_ZONE, { logger, ...(options.clock ? { clock: options.clock } : {}) });
      e.start();
      return e;
    },
    (e) => e.close(),
  );
  // The agents' control channel (collector/control/): presence, clocks, remote configuration, commands.
  // Its stop is begun early by the HTTP server's (agents are told to come back later) and awaited in its turn.
  const control = await services.start('control channel', () => createControlHub({ registry, writer, logger, options: config.control, trustProxy: config.trustProxy }), () => stopControl());
  const stopControl = once(() => control.close());
  const app = createApp({ alerts, throughput, control, compliance, evidence, registry, writer, logger, ...(options.clock ? { clock: options.clock } : {}), version: COLLECTOR_VERSION, adminToken: config.adminToken, recommendedAgentVersion: config.recommendedAgentVersion,
    maxBodyBytes: config.maxBodyBytes, limits: config.limits, trustProxy: config.trustProxy, publicUrl: config.publicUrl,
    console: { settings: config.console ?? consoleSettings({}) }, guardOptions: { maxTargetsPerProbe: config.maxTargetsPerProbe } });
  // Revocations and moves made by the CLI, another worker or (PostgreSQL) another collector reach this
  // process's open WebSockets at once when notified, within a second by polling otherwise.
  await services.start('registry change watch', () => registry.watchChanges(1000, logger), (stop) => stop());

  const { port } = await services.start(
    'HTTP server',
    () => listen(config, { app, throughput, control, onDrain: () => [stopThroughput, stopControl], shutdownGraceMs: options.shutdownGraceMs ?? 10_000 }),
    (s) => s.stop(),
  );
  // A wildcard bind is reachable on loopback; report that, since "0.0.0.0" is not an address to call.
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, publicUrl: config.publicUrl }, 'collector listening');

  let closed: Promise<void> | undefined;
  const close = () => (closed ??= services.stop().then(() => logger.info('collector stopped')));
  return { url, port, evidence, close };
}

interface Listening {
  port: number;
  /** Stops accepting and resolves once every in-flight request has been answered (or the grace ran out). */
  stop(): Promise<void>;
}

/**
 * Listens: the throughput streams take their requests before Hono, WebSocket upgrades go to ndt7 or the
 * control channel. Its stop first begins the stops `onDrain` gives (open ndt7 tests cut, agents told to
 * come back later), then waits for in-flight requests so no acknowledgement is lost.
 */
function listen(
  config: CollectorConfig,
  deps: {
    app: { fetch: (req: Request) => Response | Promise<Response> };
    throughput: { handleRequest(req: IncomingMessage, res: ServerResponse): boolean; handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean };
    control: { handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean };
    onDrain: () => (() => Promise<void>)[];
    shutdownGraceMs: number;
  },
): Promise<Listening> {
  const { app, throughput, control } = deps;
  let closing = false;
  let server: Server;
  return new Promise<number>((resolve, reject) => {
    server = serve(
      {
        fetch: app.fetch,
        hostname: config.host,
        port: config.port,
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
  }).then((port) => ({
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        closing = true;
        // Their failures are logged when their own turn awaits them.
        for (const begin of deps.onDrain()) begin().catch(() => undefined);
        const timer = setTimeout(() => server.closeAllConnections(), deps.shutdownGraceMs);
        timer.unref();
        // close() stops accepting and calls back once every in-flight request has been answered.
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  }));
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
