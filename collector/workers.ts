// SONGCHECK_WORKERS > 1: the primary forks that many collector processes sharing one port (node:cluster).
// A collector holds no state an acknowledgement depends on and the registry is SQLite in WAL mode, so
// workers need no coordination; several processes let ingest use more than one core.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { Registry } from './registry/registry.ts';

/** A worker that dies sooner than this after its start failed to start (bad config, port taken): no restart. */
const MIN_UPTIME_MS = 10_000;

export const isWorker = () => cluster.isWorker;

/**
 * Signals a worker listens to. SIGTERM closes it gracefully. SIGINT is ignored: Ctrl-C reaches the whole
 * process group, and the primary answers it with a SIGTERM to each worker; taking both would count as the
 * "second signal" that exits at once and drops in-flight requests.
 */
export function workerSignals(): NodeJS.Signals[] {
  process.on('SIGINT', () => {});
  return ['SIGTERM'];
}

/**
 * Runs the primary: creates or migrates the registry once (so workers never race to migrate it), forks
 * the workers, replaces one that crashes, and on SIGTERM/SIGINT sends each worker SIGTERM and exits once
 * all of them have finished their in-flight requests.
 */
export async function runPrimary(workers: number, dataDir: string, logger: Logger): Promise<void> {
  await (await Registry.open(dataDir)).close();
  let stopping = false;
  let exitCode = 0;
  const started = new Map<Worker, number>();
  const fork = () => started.set(cluster.fork(), Date.now());

  const stopAll = (reason: string) => {
    if (stopping) process.exit(1); // a second signal exits at once, as with a single process
    stopping = true;
    logger.info({ reason }, 'stopping collector workers');
    for (const worker of started.keys()) worker.process.kill('SIGTERM');
    if (started.size === 0) process.exit(exitCode);
  };

  cluster.on('exit', (worker, code, signal) => {
    const uptime = Date.now() - (started.get(worker) ?? 0);
    started.delete(worker);
    if (stopping) {
      if (started.size === 0) process.exit(exitCode);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'collector worker exited');
    if (uptime >= MIN_UPTIME_MS) return void fork();
    exitCode = 1;
    stopAll('a worker failed during start-up');
  });
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  process.on('SIGINT', () => stopAll('SIGINT'));

  logger.info({ workers }, 'starting collector workers');
  for (let i = 0; i < workers; i++) fork();
}
