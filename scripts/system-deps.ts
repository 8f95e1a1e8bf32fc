// System commands that songcheck's tests, demo and lab need (influxd, iperf3, iptables, ip, ping ...).
//
// CI and developers start from a clean Debian/Ubuntu machine, so a missing command is installed with apt-get
// when we are root; otherwise the caller gets one line telling the user what to install.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Searched after PATH: sbin directories are often missing from a non-login PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/bin', '/sbin'];

/** Where to get a command when apt-get is not an option. */
const HINTS: Record<string, string> = {
  influxd: 'https://portal.influxdata.com/downloads/',
  iperf3: 'https://iperf.fr/',
};

/** apt-get's answers when the package index is missing or stale: then `apt-get update` and try once more. */
const STALE_INDEX = /Unable to locate package|has no installation candidate|is not available|Failed to fetch|404\s+Not Found/i;

/** One lock for every songcheck process on the machine, so parallel test workers don't race dpkg. */
const APT_LOCK = path.join(os.tmpdir(), 'songcheck-apt-get.lock');
const APT_LOCK_WAIT_S = 1800;

export interface EnsureCommandOptions {
  /** Where to get it besides apt, for the error message. */
  hint?: string;
  /** Progress lines (apt output is not streamed; only what is being done). */
  log?: (line: string) => void;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `command` on PATH or in the sbin/bin directories, or undefined. */
export async function findCommand(command: string): Promise<string | undefined> {
  if (command.includes('/')) return (await isExecutable(command)) ? path.resolve(command) : undefined;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const file = path.resolve(dir, command);
    if (await isExecutable(file)) return file;
  }
  return undefined;
}

interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a command to completion, keeping the tail of its combined output; never throws. */
function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-64 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => resolve({ code: null, output: output + String(err) }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.at(-1) ?? '';
}

function installAdvice(command: string, debPackage: string, hint: string | undefined): string {
  const where = hint ?? HINTS[command];
  return `install it with 'sudo apt-get install ${debPackage}' (Debian/Ubuntu)${where ? ` or from ${where}` : ''}`;
}

/**
 * Runs `apt-get install` for one package, holding the machine-wide songcheck lock (flock(1) from util-linux,
 * which every apt-based system has; the kernel drops the lock if we die). apt's own dpkg lock is waited for
 * too, in case something else (unattended-upgrades) is installing. Returns undefined on success, or why not.
 */
async function aptInstall(aptGet: string, debPackage: string, log: (line: string) => void): Promise<string | undefined> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const flock = await findCommand('flock');
  const locked = (args: string[]): Promise<RunResult> =>
    flock ? run(flock, ['-w', String(APT_LOCK_WAIT_S), APT_LOCK, aptGet, ...args], env) : run(aptGet, args, env);
  const install = (): Promise<RunResult> =>
    locked(['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', debPackage]);

  log(`apt-get install -y --no-install-recommends ${debPackage}`);
  let result = await install();
  if (result.code !== 0 && STALE_INDEX.test(result.output)) {
    log('apt-get update (package index missing or stale)');
    const update = await locked(['-o', 'DPkg::Lock::Timeout=600', 'update']);
    if (update.code !== 0) return `'apt-get update' failed (${lastLine(update.output)})`;
    result = await install();
  }
  return result.code === 0 ? undefined : `'apt-get install ${debPackage}' failed (${lastLine(result.output)})`;
}

async function ensure(command: string, debPackage: string, opts: EnsureCommandOptions): Promise<string> {
  const found = await findCommand(command);
  if (found) return found;

  const advice = installAdvice(command, debPackage, opts.hint);
  const aptGet = await findCommand('apt-get');
  if (process.getuid?.() !== 0 || !aptGet) throw new Error(`songcheck needs ${command}: ${advice}`);

  const failure = await aptInstall(aptGet, debPackage, opts.log ?? (() => {}));
  if (failure) throw new Error(`songcheck needs ${command}: ${failure}; ${advice}`);
  const installed = await findCommand(command);
  if (!installed) throw new Error(`songcheck needs ${command}: package ${debPackage} installed but ${command} is not on PATH; ${advice}`);
  return installed;
}

/** One look-up or install per command per process, however many callers ask at once. */
const pending = new Map<string, Promise<string>>();

/**
 * Absolute path of `command`. Looks on PATH and in /usr/sbin, /usr/bin, /sbin; when it is missing and we are
 * root on a machine with apt-get, installs `debPackage` (`apt-get install -y --no-install-recommends`, with
 * `apt-get update` first only if the index is missing or stale). Otherwise throws an Error whose message is
 * one line saying what to install.
 */
export function ensureCommand(command: string, debPackage: string, opts: EnsureCommandOptions = {}): Promise<string> {
  const key = `${command}\0${debPackage}`;
  let result = pending.get(key);
  if (!result) {
    result = ensure(command, debPackage, opts);
    pending.set(key, result);
    // A failure is not remembered: the user may install the package and ask again.
    result.catch(() => pending.delete(key));
  }
  return result;
}
