// Runs a real PostgreSQL server (Debian's `postgresql` package) on a loopback port with its own temporary
// cluster: for the tests (test/support/global-postgres.ts, the two-collector test) and the bench. Never a
// fake: see BRIEF.md section 4, "Scale past one machine".
//
// PostgreSQL refuses to run as root; when we are root the cluster belongs to the `postgres` system user the
// package creates, and the server runs as that user.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './free-port.ts';
import { ensureCommand, findCommand } from './system-deps.ts';

export interface PostgresServer {
  /** postgres://songcheck@127.0.0.1:PORT/postgres — the maintenance database; create one per test. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** CREATE DATABASE; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown, SIGKILL after 10 s) and removes the temporary cluster. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  log?: (line: string) => void;
  /** How long to wait for the server to accept connections. Default 30 s. */
  startTimeoutMs?: number;
}

const USER = 'songcheck';
const DEFAULT_START_TIMEOUT_MS = 30_000;

/** The newest /usr/lib/postgresql/<version>/bin holding `postgres` and `initdb`, or undefined. */
function debianBinDir(): string | undefined {
  let versions: string[];
  try {
    versions = readdirSync('/usr/lib/postgresql');
  } catch {
    return undefined;
  }
  const found = versions
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join('/usr/lib/postgresql', v, 'bin'))
    .find((dir) => {
      try {
        const names = readdirSync(dir);
        return names.includes('postgres') && names.includes('initdb');
      } catch {
        return false;
      }
    });
  return found;
}

/**
 * Where PostgreSQL's server binaries are. Debian keeps them off PATH, under /usr/lib/postgresql/<version>/bin;
 * when none is there and we are root, `apt-get install postgresql` (through ensureCommand, which installs
 * the package that brings pg_ctlcluster); otherwise one line saying what to install.
 */
export async function postgresBinDir(log?: (line: string) => void): Promise<string> {
  const existing = debianBinDir();
  if (existing) return existing;
  const initdb = await findCommand('initdb');
  if (initdb && (await findCommand('postgres'))) return path.dirname(initdb);
  await ensureCommand('pg_ctlcluster', 'postgresql', { hint: 'https://www.postgresql.org/download/', ...(log ? { log } : {}) });
  const installed = debianBinDir();
  if (!installed) throw new Error("songcheck needs PostgreSQL's server: package postgresql installed but /usr/lib/postgresql/<version>/bin/postgres is missing");
  return installed;
}

/** uid and gid of the `postgres` system user (from /etc/passwd), needed when we are root. */
function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('songcheck runs PostgreSQL as the postgres user when started as root, and there is none: reinstall the postgresql package');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a program to completion (as `user` when given); rejects with its output's tail on failure. */
function runToEnd(file: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-8 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed (exit ${code}): ${output.trim().split('\n').slice(-5).join(' | ')}`))));
  });
}

/** Running servers, killed if this process exits without stopping them; their clusters removed. */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [child, dir] of live) {
      child.kill('SIGKILL');
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Quotes a PostgreSQL identifier. */
export function quotePgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * initdb a fresh cluster in a temporary directory (trust authentication: loopback only, throwaway data),
 * start `postgres` on a free loopback port with its socket inside the cluster directory, and wait until it
 * accepts connections.
 */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const log = opts.log ?? (() => {});
  const bin = await postgresBinDir(log);
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'songcheck-pg-'));
  if (user) await chown(dataDir, user.uid, user.gid);
  const cluster = path.join(dataDir, 'cluster');
  const logFile = path.join(dataDir, 'postgres.log');
  try {
    await runToEnd(path.join(bin, 'initdb'), ['-D', cluster, '-U', USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], user);
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  // pdeathsig: the kernel stops the server if this process dies without its exit handlers (SIGKILL, OOM).
  const setpriv = process.platform === 'linux' ? await findCommand('setpriv') : undefined;
  let lastError = '';
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const args = ['-D', cluster, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dataDir}`,
      // Two collectors, a CLI and the tests' own clients, each with a small pool.
      '-c', 'max_connections=200'];
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      const postgres = path.join(bin, 'postgres');
      child = setpriv
        ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', postgres, ...args], { stdio: ['ignore', fd, fd], ...(user ?? {}) })
        : spawn(postgres, args, { stdio: ['ignore', fd, fd], ...(user ?? {}) });
    } finally {
      closeSync(fd);
    }
    live.set(child, dataDir);
    installExitHook();
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => {
      exited = true;
      live.delete(child);
      resolve();
    }));
    const url = `postgres://${USER}@127.0.0.1:${port}/postgres`;
    const deadline = Date.now() + (opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    while (!exited && Date.now() < deadline) {
      if ((await accepts(url)) && !exited) {
        log(`postgres pid ${child.pid} serving 127.0.0.1:${port} (cluster ${cluster})`);
        return serverHandle(child, exit, url, port, dataDir, logFile);
      }
      await Promise.race([sleep(100), exit]);
    }
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    let tail = '';
    try {
      tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-10).join('\n');
    } catch {
      // no log
    }
    lastError = `postgres did not accept connections on 127.0.0.1:${port}; last lines of ${logFile}:\n${tail}`;
    if (!/could not bind|address already in use/i.test(tail)) break;
    log(`postgres: port taken (attempt ${attempt}), retrying`);
  }
  await rm(dataDir, { recursive: true, force: true });
  throw new Error(lastError);
}

function serverHandle(child: ChildProcess, exit: Promise<void>, url: string, port: number, dataDir: string, logFile: string): PostgresServer {
  return {
    url,
    port,
    dataDir,
    logFile,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${quotePgIdent(name)}`);
      } finally {
        await client.end();
      }
      const u = new URL(url);
      u.pathname = `/${encodeURIComponent(name)}`;
      return u.toString();
    },
    async stop() {
      if (live.has(child)) {
        // SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, close clients, exit.
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
