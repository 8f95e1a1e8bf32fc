// Runs a real InfluxDB 1.x server (Debian's `influxdb` package, 1.6.7) on a loopback port with its own data
// directory. The ONE helper used by the tests (test/support/global-influxd.ts and tests that stop InfluxDB)
// and by the demo. Never a fake InfluxDB: see BRIEF.md section 4. This file is the process (start, stop,
// restart, clean-up at exit); its configuration is influxd-config.ts, its queries influxql-client.ts.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.ts';
import { renderInfluxdConfig } from './influxd-config.ts';
import { createInfluxDatabase } from './influxql-client.ts';
import { ensureCommand, findCommand } from './system-deps.ts';

export interface StartInfluxdOptions {
  /** Data directory (meta/, data/, wal/, influxdb.conf, influxd.log). Default: a fresh temporary directory. */
  dataDir?: string;
  /** HTTP port. Default: a free port picked at start. */
  port?: number;
  /** Address the HTTP API binds to. Default 127.0.0.1. */
  bindHost?: string;
  /** Keep the data directory on stop() even if it is a temporary one. An explicit dataDir is always kept. */
  keepData?: boolean;
  /** Databases to create once the server answers. */
  databases?: string[];
  /** Lifecycle lines of this helper (influxd's own output goes to `logFile`). */
  log?: (line: string) => void;
  /** How long to wait for GET /ping to answer 204. Default 30 s. */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 10 s. */
  stopTimeoutMs?: number;
  /** [data] max-series-per-database (influxd's default 1 000 000); tests of the database's own limits set it low. */
  maxSeriesPerDatabase?: number;
}

export interface InfluxServer {
  /** Base URL of the v1 HTTP API, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** influxd's stdout and stderr (influxd 1.x logs to stderr; it has no log-file setting). */
  readonly logFile: string;
  readonly configFile: string;
  /** Process id while running, undefined when stopped. */
  readonly pid: number | undefined;
  /** CREATE DATABASE "name" (idempotent in InfluxDB 1.x). */
  createDatabase(name: string): Promise<void>;
  /**
   * SIGTERM, SIGKILL after stopTimeoutMs, and waits for the process to exit. A temporary data directory is
   * removed unless the server was started with keepData or this call passes `{ keepData: true }`: pass it
   * to simulate an outage and start() again later with the same data.
   */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Starts again on the same port and data directory (after stop({ keepData: true })). No-op if running. */
  start(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 5;

/** Running influxd children, killed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
/** Temporary data directories to remove if this process exits without stop(). */
const tempDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL, then best-effort removal of temporary directories.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** The last lines of the log file written since `from` (a byte offset). */
async function logTail(file: string, from: number, lines = 20): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const size = (await handle.stat()).size;
      const start = Math.max(from, size - 16 * 1024);
      const buffer = Buffer.alloc(Math.max(0, size - start));
      await handle.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/** Environment for influxd without INFLUXDB_* variables, which would override the config file. */
function influxdEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('INFLUXDB_')));
}

async function pingOnce(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/ping', url), { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status === 204;
  } catch {
    return false;
  }
}

type Outcome = { kind: 'ready' } | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null } | { kind: 'timeout' };

class InfluxdProcess implements InfluxServer {
  readonly dataDir: string;
  readonly logFile: string;
  readonly configFile: string;
  private readonly bindHost: string;
  private readonly opts: StartInfluxdOptions;
  private readonly removable: boolean;
  private httpPort: number;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private removed = false;
  /** Lifecycle operations run one after another. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string, removable: boolean, opts: StartInfluxdOptions) {
    this.dataDir = dataDir;
    this.removable = removable;
    this.opts = opts;
    this.bindHost = opts.bindHost ?? '127.0.0.1';
    this.httpPort = opts.port ?? 0;
    this.logFile = path.join(dataDir, 'influxd.log');
    this.configFile = path.join(dataDir, 'influxdb.conf');
  }

  get port(): number {
    return this.httpPort;
  }

  get url(): string {
    // A wildcard bind is reached through loopback.
    const host = this.bindHost === '0.0.0.0' || this.bindHost === '' ? '127.0.0.1' : this.bindHost === '::' ? '::1' : this.bindHost;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.httpPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => {});
    return next;
  }

  createDatabase(name: string): Promise<void> {
    return createInfluxDatabase(this.url, name);
  }

  start(): Promise<void> {
    return this.serial(() => this.launch());
  }

  stop(opts: { keepData?: boolean } = {}): Promise<void> {
    return this.serial(() => this.halt(opts.keepData === true));
  }

  private async launch(): Promise<void> {
    if (this.child) return;
    if (this.removed) throw new Error(`influxd data directory ${this.dataDir} was removed by stop(); use stop({ keepData: true }) to start again later`);
    const influxd = await ensureCommand('influxd', 'influxdb', { log: (line) => this.log(line) });
    // On Linux, setpriv's pdeathsig makes the kernel send SIGTERM to influxd if this process dies without
    // running its 'exit' handlers (SIGKILL, OOM): no orphaned servers after a crashed test run.
    const setpriv = process.platform === 'linux' ? await findCommand('setpriv') : undefined;
    const fixedPort = this.httpPort !== 0;
    for (const dir of ['meta', 'data', 'wal']) await mkdir(path.join(this.dataDir, dir), { recursive: true });

    let lastError = '';
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      if (!fixedPort) this.httpPort = await freePort(this.bindHost === '' ? '127.0.0.1' : this.bindHost);
      let rpcPort = await freePort('127.0.0.1');
      while (rpcPort === this.httpPort) rpcPort = await freePort('127.0.0.1');
      await writeFile(this.configFile, renderInfluxdConfig({ dataDir: this.dataDir, bindHost: this.bindHost, httpPort: this.httpPort, rpcPort, maxSeriesPerDatabase: this.opts.maxSeriesPerDatabase }));

      const logFrom = await fileSize(this.logFile);
      const outcome = await this.spawnAndWait(influxd, setpriv);
      if (outcome.kind === 'ready') {
        this.log(`influxd pid ${this.pid} serving ${this.url} (data ${this.dataDir})`);
        return;
      }
      const tail = await logTail(this.logFile, logFrom);
      const why = outcome.kind === 'timeout'
        ? `did not answer GET /ping with 204 within ${this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS} ms`
        : `exited (code ${outcome.code}, signal ${outcome.signal})`;
      lastError = `influxd ${why}; config ${this.configFile}; last lines of ${this.logFile}:\n${tail}`;
      if (!/address already in use/i.test(tail)) break;
      this.log(`influxd: port taken (attempt ${attempt} of ${START_ATTEMPTS}), retrying`);
      await sleep(200 * attempt);
    }
    throw new Error(lastError);
  }

  /** Spawns influxd, waits until /ping answers 204, it exits, or the start timeout passes (then kills it). */
  private async spawnAndWait(influxd: string, setpriv: string | undefined): Promise<Outcome> {
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      const args = ['-config', this.configFile];
      child = setpriv
        ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', influxd, ...args], { cwd: this.dataDir, env: influxdEnv(), stdio: ['ignore', fd, fd] })
        : spawn(influxd, args, { cwd: this.dataDir, env: influxdEnv(), stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd); // the child has its own copy
    }
    this.child = child;
    live.add(child);
    installExitHook();

    let exitInfo: Outcome | undefined;
    this.exited = new Promise<void>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        exitInfo ??= { kind: 'exited', code, signal };
        live.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      };
      child.once('exit', done);
      child.once('error', (err) => {
        void writeFile(this.logFile, `spawn failed: ${String(err)}\n`, { flag: 'a' });
        done(null, null);
      });
    });

    const deadline = Date.now() + (this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    while (Date.now() < deadline) {
      if (exitInfo) return exitInfo;
      // A 204 only counts while our child is alive: otherwise it may be another server on a reused port.
      if ((await pingOnce(this.url)) && !exitInfo) return { kind: 'ready' };
      await Promise.race([sleep(100), this.exited]);
    }
    if (exitInfo) return exitInfo;
    await this.kill(0);
    return { kind: 'timeout' };
  }

  /** SIGTERM (unless graceMs is 0), SIGKILL after graceMs, and wait for the exit. */
  private async kill(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (graceMs > 0) {
      child.kill('SIGTERM');
      const cancel = new AbortController();
      const timer = sleep(graceMs, 'timeout' as const, { signal: cancel.signal }).catch(() => 'cancelled' as const);
      const first = await Promise.race([this.exited.then(() => 'exited' as const), timer]);
      cancel.abort(); // don't keep the event loop alive for the rest of the grace period
      if (first === 'exited') return;
      this.log(`influxd pid ${child.pid} did not stop within ${graceMs} ms: SIGKILL`);
    }
    child.kill('SIGKILL');
    await this.exited;
  }

  private async halt(keepData: boolean): Promise<void> {
    if (this.child) {
      this.log(`stopping influxd pid ${this.child.pid}`);
      await this.kill(this.opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    }
    if (this.removable && !keepData && !this.opts.keepData && !this.removed) {
      await rm(this.dataDir, { recursive: true, force: true, maxRetries: 3 });
      tempDirs.delete(this.dataDir);
      this.removed = true;
    }
  }

  /** Registers a temporary data directory for removal at process exit. */
  trackTempDir(): void {
    if (this.removable && !this.opts.keepData) tempDirs.add(this.dataDir);
  }
}

/**
 * Starts influxd (installed with apt-get if missing and we are root) with its own config, ports and data
 * directory, waits until it answers GET /ping, and creates `databases`.
 */
export async function startInfluxd(opts: StartInfluxdOptions = {}): Promise<InfluxServer> {
  const explicitDir = opts.dataDir !== undefined;
  const dataDir = opts.dataDir !== undefined ? path.resolve(opts.dataDir) : await mkdtemp(path.join(os.tmpdir(), 'songcheck-influxd-'));
  await mkdir(dataDir, { recursive: true });
  const server = new InfluxdProcess(dataDir, !explicitDir, opts);
  server.trackTempDir();
  try {
    await server.start();
    for (const name of opts.databases ?? []) await server.createDatabase(name);
  } catch (err) {
    // The error already quotes the tail of influxd's log; a temporary directory goes with the server.
    await server.stop().catch(() => {});
    throw err;
  }
  return server;
}
