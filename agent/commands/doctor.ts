// `songcheck-agent doctor`: checks what an unattended agent needs, one line each, and says in plain words
// what to do about each failure. Exit code 0 when nothing failed (warnings allowed), 1 otherwise.
import { accessSync, constants, mkdirSync, statfsSync, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { icmpProbe } from '../probes/icmp/index.ts';
import { dataFiles } from '../platform/paths.ts';
import { runningAgent } from '../platform/run-lock.ts';
import { readLastResults } from '../status/last-results.ts';
import { isBehind } from '../status/update-check.ts';
import { AGENT_VERSION } from '../version.ts';
import { probeCollector, readSetup } from './common.ts';

export type Verdict = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  verdict: Verdict;
  detail: string;
  /** What to do, in plain words, when the verdict is not ok. */
  fix?: string;
}

/** Below this the queue (50 MiB by default) and the logs (25 MiB) may not fit. */
const MIN_FREE_BYTES = 200 * 2 ** 20;
/** A clock further off than this makes results land at the wrong time (and over 10 min, be rejected). */
const MAX_CLOCK_OFFSET_MS = 60_000;
const EARLIEST_SANE_YEAR = 2024;

export interface DoctorOptions {
  dataDir: string;
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  now?: () => number;
  platform?: NodeJS.Platform;
  /** Whether to try an ICMP echo to 127.0.0.1 (on by default). */
  checkPing?: boolean;
}

export async function runDoctor(o: DoctorOptions): Promise<Check[]> {
  const now = o.now ?? Date.now;
  const platform = o.platform ?? process.platform;
  const env = o.env ?? process.env;
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);

  add(checkDataDir(o.dataDir, platform));
  const setup = readSetup(o.dataDir, o.configFile, env);
  add(
    setup.identity
      ? { name: 'enrollment', verdict: 'ok', detail: `site ${setup.identity.site.code} (${setup.identity.site.name}), device ${setup.identity.deviceId}` }
      : { name: 'enrollment', verdict: 'fail', detail: setup.identityProblem ?? 'not enrolled', fix: "enroll with the code printed for this site: songcheck-agent enroll --collector URL --code CODE (as the user the service runs as, or with --data-dir pointing at the service's folder)" },
  );
  add(
    setup.config
      ? { name: 'configuration', verdict: 'ok', detail: existsNote(dataFiles(o.dataDir).config, o.configFile) }
      : { name: 'configuration', verdict: 'fail', detail: setup.configProblem ?? 'invalid', fix: 'correct the file as the message says, or delete it to use the defaults' },
  );

  const year = new Date(now()).getUTCFullYear();
  let clock: Check =
    year >= EARLIEST_SANE_YEAR
      ? { name: 'clock', verdict: 'ok', detail: `${new Date(now()).toISOString()} (not compared with the collector)` }
      : { name: 'clock', verdict: 'fail', detail: `this computer says it is ${year}`, fix: clockFix(platform) };

  if (!setup.collectorUrl) {
    add({ name: 'collector', verdict: 'fail', detail: 'no collector URL (not enrolled, no collectorUrl in the configuration)', fix: 'enroll this agent first' });
  } else {
    const url = new URL(setup.collectorUrl);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      add({ name: 'DNS', verdict: 'ok', detail: `collector is an IP address (${host}); no lookup needed` });
    } else {
      try {
        const addrs = await withTimeout(lookup(host, { all: true }), o.timeoutMs ?? 5000);
        add({ name: 'DNS', verdict: 'ok', detail: `${host} → ${addrs.map((a) => a.address).join(', ')}` });
      } catch (err) {
        add({ name: 'DNS', verdict: 'fail', detail: `cannot resolve ${host}: ${(err as { code?: string }).code ?? (err as Error).message}`, fix: "check this computer's Internet connection and DNS server (the router's settings), and that the collector's name is spelled right" });
      }
    }
    const h = await probeCollector(setup.collectorUrl, o.timeoutMs ?? 5000, now);
    if (h.status === 200) add({ name: 'collector', verdict: 'ok', detail: `${setup.collectorUrl} answered in ${h.latencyMs} ms${h.collectorVersion ? ` (collector ${h.collectorVersion})` : ''}` });
    else if (h.status === 503) add({ name: 'collector', verdict: 'warn', detail: `${setup.collectorUrl} is up but degraded (its storage is unavailable)`, fix: 'nothing to do here: results wait on disk; tell the collector operator' });
    else add({ name: 'collector', verdict: 'fail', detail: `${setup.collectorUrl}: ${h.error ?? 'no answer'}`, fix: 'check the Internet connection (is the 4G router on, does its data plan have credit?), a firewall or proxy blocking the collector, and the collector URL' });
    if (h.serverDate !== undefined && h.localMidpoint !== undefined && year >= EARLIEST_SANE_YEAR) {
      // The Date header has 1 s resolution: allow that besides the limit.
      const offset = h.localMidpoint - h.serverDate;
      clock =
        Math.abs(offset) <= MAX_CLOCK_OFFSET_MS + 1000
          ? { name: 'clock', verdict: 'ok', detail: `within ${Math.max(1, Math.round(Math.abs(offset) / 1000))} s of the collector's clock` }
          : { name: 'clock', verdict: 'fail', detail: `${Math.round(Math.abs(offset) / 1000)} s ${offset > 0 ? 'ahead of' : 'behind'} the collector's clock`, fix: clockFix(platform) };
    }
  }
  add(clock);
  add(checkDisk(o.dataDir));
  const owner = runningAgent(o.dataDir);
  add(
    owner
      ? { name: 'agent process', verdict: 'ok', detail: `running (pid ${owner.pid}) with this data directory` }
      : { name: 'agent process', verdict: 'warn', detail: 'no agent is running with this data directory', fix: platform === 'win32' ? 'start the service: sc start songcheck-agent (or restart the computer)' : 'start the service: sudo systemctl start songcheck-agent' },
  );
  if (o.checkPing !== false) add(await checkPing(setup.config?.probes.icmp?.options.binary as string | undefined, platform));
  const recommended = readLastResults(o.dataDir)?.recommendedAgentVersion;
  if (recommended && isBehind(AGENT_VERSION, recommended)) {
    add({ name: 'version', verdict: 'warn', detail: `agent ${AGENT_VERSION}, the collector recommends ${recommended}`, fix: 'install the newer offline bundle (the install script replaces the agent and keeps its data)' });
  } else {
    add({ name: 'version', verdict: 'ok', detail: `agent ${AGENT_VERSION}${recommended ? ` (collector recommends ${recommended})` : ''}` });
  }
  return checks;
}

function existsNote(defaultFile: string, given: string | undefined): string {
  if (given) return `${given} is valid`;
  try {
    statSync(defaultFile);
    return `${defaultFile} is valid`;
  } catch {
    return 'no configuration file; defaults in use';
  }
}

function checkDataDir(dir: string, platform: NodeJS.Platform): Check {
  const name = 'data directory';
  let st;
  try {
    st = statSync(dir);
  } catch {
    return { name, verdict: 'fail', detail: `${dir} does not exist`, fix: 'enroll the agent (it creates the folder), or give the right --data-dir' };
  }
  try {
    accessSync(dir, constants.W_OK | constants.R_OK | constants.X_OK);
    mkdirSync(dataFiles(dir).queue, { recursive: true, mode: 0o700 });
    accessSync(dataFiles(dir).queue, constants.W_OK);
  } catch {
    return { name, verdict: 'fail', detail: `${dir} cannot be written by this user`, fix: platform === 'win32' ? 'run this as Administrator' : `run as the service user (sudo -u songcheck ...) or give it the folder: sudo chown -R songcheck: ${dir}` };
  }
  if (platform !== 'win32') {
    if ((st.mode & 0o077) !== 0) {
      return { name, verdict: 'fail', detail: `${dir} can be read by other users (mode ${(st.mode & 0o777).toString(8)}); it holds the device token`, fix: `chmod 700 ${dir}` };
    }
    if (process.getuid && st.uid !== process.getuid()) {
      return { name, verdict: 'warn', detail: `${dir} belongs to uid ${st.uid}, not to this user (uid ${process.getuid()})`, fix: 'run doctor as the user the agent runs as (sudo -u songcheck songcheck-agent doctor)' };
    }
  }
  return { name, verdict: 'ok', detail: `${dir} is writable${platform === 'win32' ? '' : ' and private to its owner'}` };
}

function checkDisk(dir: string): Check {
  try {
    const s = statfsSync(dir);
    const free = s.bavail * s.bsize;
    const mib = Math.round(free / 2 ** 20);
    return free >= MIN_FREE_BYTES
      ? { name: 'disk space', verdict: 'ok', detail: `${mib} MiB free` }
      : { name: 'disk space', verdict: 'fail', detail: `only ${mib} MiB free where the data is kept`, fix: 'free some disk space (empty the recycle bin, remove old downloads); the agent needs about 100 MiB' };
  } catch (err) {
    return { name: 'disk space', verdict: 'warn', detail: `could not read free space: ${(err as Error).message}` };
  }
}

async function checkPing(binary: string | undefined, platform: NodeJS.Platform): Promise<Check> {
  const r = await icmpProbe.run('127.0.0.1', { count: 1, intervalMs: 1000, timeoutMs: 2000, ...(binary && { binary }) }, { signal: AbortSignal.timeout(8000), now: Date.now });
  if (r.code === 'ok') return { name: 'ping (ICMP)', verdict: 'ok', detail: 'the system ping works for this user' };
  return {
    name: 'ping (ICMP)',
    verdict: 'warn',
    detail: `the system ping does not work for this user (${r.code}${r.detail ? `: ${r.detail}` : ''}); the ICMP probe will report 'unavailable' (TCP and HTTP latency are not affected)`,
    fix:
      platform === 'win32'
        ? 'check that C:\\Windows\\System32\\ping.exe exists and is not blocked by policy'
        : "install ping (sudo apt-get install iputils-ping) and allow unprivileged ICMP: echo 'net.ipv4.ping_group_range = 0 2147483647' | sudo tee /etc/sysctl.d/60-songcheck-ping.conf && sudo sysctl --system",
  };
}

function clockFix(platform: NodeJS.Platform): string {
  return platform === 'win32'
    ? 'set the date and time, and turn on "Set time automatically" (or run: w32tm /resync)'
    : 'turn on time synchronisation: sudo timedatectl set-ntp true (a Raspberry Pi has no clock battery: it needs the network time at boot)';
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEOUT' })), ms)))]).finally(() => clearTimeout(timer));
}

const MARK: Record<Verdict, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };
export function formatChecks(checks: Check[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`[${MARK[c.verdict]}] ${c.name}: ${c.detail}`);
    if (c.verdict !== 'ok' && c.fix) lines.push(`       fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => c.verdict === 'fail').length;
  const warned = checks.filter((c) => c.verdict === 'warn').length;
  lines.push('', failed === 0 ? `all checks passed${warned ? ` (${warned} warning${warned > 1 ? 's' : ''})` : ''}` : `${failed} check${failed > 1 ? 's' : ''} failed`);
  return lines.join('\n');
}
