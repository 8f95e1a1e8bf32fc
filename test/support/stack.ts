// The whole system as separate real processes, for end-to-end and fault tests: the collector's and the
// agent's own bins, a real InfluxDB, files in a temporary directory.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_BIN, COLLECTOR_BIN, freePort, runNode, spawnNode, type Tracked } from './processes.ts';
import { strongToken } from './secrets.ts';

export const ADMIN_TOKEN = strongToken();

/** Agent config for tests: probes every couple of seconds against the collector, fast retries. */
export const FAST_AGENT_CONFIG = `
upload: { intervalSeconds: 1, backoffInitialSeconds: 0.5, backoffMaxSeconds: 2, timeoutSeconds: 5 }
health: { schedule: "*/5 * * * * *" }
deviceFacts: { schedule: "0 0 3 * * *" }
probes:
  tcp: { schedule: "* * * * * *", splaySeconds: 0, timeoutSeconds: 3, options: { count: 2, intervalMs: 20 } }
  http: { schedule: "*/2 * * * * *", splaySeconds: 0, timeoutSeconds: 3 }
  dns: { enabled: false }
  icmp: { enabled: false }
# Hermetic uptime checks: the collector (from the URL), a closed loopback port as the "outside", /etc/hosts for DNS.
connectivity: { intervalSeconds: 2, timeoutSeconds: 0.5, outsideTargets: ["127.0.0.1:9"], dnsName: localhost }
log: { level: debug }
`;

/** An agent that only delivers what its queue holds (it still records its device facts at start). */
export const DRAIN_CONFIG = `
upload: { intervalSeconds: 1, backoffInitialSeconds: 0.5, backoffMaxSeconds: 2 }
health: { schedule: "0 0 3 1 1 *" }
probes: { tcp: { enabled: false }, http: { enabled: false }, dns: { enabled: false }, icmp: { enabled: false }, gateway: { enabled: false } }
# No uptime monitor either: its stop event would be queued after the drain's last delivery.
connectivity: { enabled: false }
log: { level: debug }
`;

export interface Stack {
  root: string;
  collectorUrl: string;
  siteCode: string;
  collector?: Tracked;
  startCollector(): Promise<Tracked>;
  stopCollector(signal?: NodeJS.Signals): Promise<void>;
  /** `agent` is the script to run: the development bin by default, or a one-file build. */
  enrollAgent(name: string, agent?: string): Promise<string>;
  startAgent(dataDir: string, config?: string, agent?: string): Tracked;
  cleanup(): void;
}

export async function createStack(opts: { influxUrl: string; db: string; siteCode?: string; siteArgs?: string[]; collectorEnv?: Record<string, string> }): Promise<Stack> {
  const root = mkdtempSync(join(tmpdir(), 'songcheck-stack-'));
  const port = await freePort();
  const siteCode = opts.siteCode ?? 'E2E-001';
  const env = {
    SONGCHECK_HOST: '127.0.0.1',
    SONGCHECK_PORT: String(port),
    SONGCHECK_INFLUX_URL: opts.influxUrl,
    SONGCHECK_INFLUX_DB: opts.db,
    SONGCHECK_DATA_DIR: join(root, 'collector'),
    SONGCHECK_ADMIN_TOKEN: ADMIN_TOKEN,
    SONGCHECK_TEST_TOKEN_KEY: strongToken(),
    SONGCHECK_LOG_LEVEL: 'warn',
    ...opts.collectorEnv,
  };
  const collectorCli = async (...args: string[]) => {
    const r = await runNode(COLLECTOR_BIN, args, env);
    if (r.code !== 0) throw new Error(`songcheck-collector ${args.join(' ')} failed (${r.code}):\n${r.output}`);
    return r.output;
  };
  await collectorCli('sites', 'add', '--code', siteCode, '--name', 'Điểm trường Thử nghiệm', ...(opts.siteArgs ?? ['--commune', 'Bản Xèo', '--operator', 'viettel', '--link-type', '4g']));
  const stack: Stack = {
    root,
    siteCode,
    collectorUrl: `http://127.0.0.1:${port}`,
    async startCollector() {
      const c = spawnNode(COLLECTOR_BIN, ['serve'], env);
      stack.collector = c;
      await waitForHealth(stack.collectorUrl, c);
      return c;
    },
    async stopCollector(signal = 'SIGTERM') {
      await stack.collector?.kill(signal);
      stack.collector = undefined;
    },
    async enrollAgent(name, agent = AGENT_BIN) {
      const out = await collectorCli('enroll-code', '--site', siteCode);
      const code = /\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b/.exec(out)?.[0];
      if (!code) throw new Error(`no enrollment code in:\n${out}`);
      const dataDir = join(root, name);
      mkdirSync(dataDir, { recursive: true });
      const r = await runNode(agent, ['enroll', '--collector', stack.collectorUrl, '--code', code, '--data-dir', dataDir]);
      if (r.code !== 0) throw new Error(`agent enroll failed (${r.code}):\n${r.output}`);
      return dataDir;
    },
    startAgent(dataDir, config = FAST_AGENT_CONFIG, agent = AGENT_BIN) {
      const file = join(dataDir, 'test-config.yaml');
      writeFileSync(file, config);
      return spawnNode(agent, ['run', '--data-dir', dataDir, '--config', file]);
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Waits (30 s at most) until the collector at `url` answers /healthz; fails at once if its process exited. */
export async function waitForHealth(url: string, proc: Tracked): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.proc.exitCode !== null) throw new Error(`collector exited:\n${proc.lines.join('\n')}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.status > 0, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`collector did not answer /healthz within 30 s:\n${proc.lines.join('\n')}`);
}

/** Result ids the agent wrote to its queue, from its debug log ("result queued" is logged after append returns). */
export function queuedIds(agent: Tracked): string[] {
  const ids: string[] = [];
  for (const line of agent.lines) {
    if (!line.includes('"result queued"')) continue;
    try {
      ids.push((JSON.parse(line) as { id: string }).id);
    } catch {
      // a line torn by SIGKILL: it proves nothing either way
    }
  }
  return ids;
}

/**
 * True when the agent's last acknowledged upload left its queue empty and nothing was queued after it
 * (from its debug log). A result stored in InfluxDB is not yet acknowledged: an agent stopped in between
 * keeps it queued (it is sent again later), so checks of the queue's depth wait for this first.
 */
export function queueDrained(agent: Tracked): boolean {
  let drained = false;
  for (const line of agent.lines) {
    if (line.includes('"result queued"')) drained = false;
    else if (line.includes('"results acknowledged"')) {
      try {
        drained = (JSON.parse(line) as { queueDepth: number }).queueDepth === 0;
      } catch {
        drained = false;
      }
    }
  }
  return drained;
}
