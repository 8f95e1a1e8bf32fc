// Runs the agent under the control channel: the clock every measurement time goes through, remote
// configurations applied atomically (validated first; the running agent is replaced only by one that
// started; the old one is brought back if anything fails; the new one is persisted before it is
// acknowledged), and commands. Configurations and commands are handled one at a time.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CommandPush, ConfigPush } from '../../protocol/control.ts';
import type { AgentEvent, Result } from '../../protocol/results.ts';
import { type Agent, createAgent } from '../agent.ts';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { startServices, type Running, type Service } from '../platform/lifecycle.ts';
import type { AgentConfig } from '../../protocol/agent-config.ts';
import type { Identity } from '../identity/identity.ts';
import { AGENT_VERSION } from '../version.ts';
import { AgentClock, type ClockOptions } from './clock.ts';
import { ControlClient } from './client.ts';
import { checkRemoteConfig, withLocalOnlyOptions } from '../../protocol/remote-config.ts';

export const REMOTE_CONFIG_FILE = 'remote-config.json';
const Stored = z.object({ version: z.number().int().min(1), config: z.record(z.string(), z.unknown()) });

export interface SupervisorDeps {
  dataDir: string;
  /** The local configuration (config file or defaults); a stored remote one replaces it, keeping its collectorUrl and local-only options. */
  localConfig: AgentConfig;
  identity: Identity;
  logger: Logger;
  /** Test hooks: a skewed device clock. */
  clock?: Partial<Pick<ClockOptions, 'raw' | 'mono' | 'uptimeS'>>;
}

/** The remote configuration stored by an earlier run, if it is still valid for this agent. */
export function loadRemoteConfig(dataDir: string, logger: Logger): { version: number; config: AgentConfig } | undefined {
  const file = join(dataDir, REMOTE_CONFIG_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const stored = Stored.parse(JSON.parse(readFileSync(file, 'utf8')));
    const checked = checkRemoteConfig(stored.config);
    if (checked.ok) return { version: stored.version, config: checked.config };
    logger.warn({ file, reason: checked.reason }, 'stored remote configuration is no longer valid; using the local one');
  } catch (err) {
    logger.warn({ file, err: (err as Error).message }, 'stored remote configuration is unreadable; using the local one');
  }
  return undefined;
}

export function startSupervisedAgent(deps: SupervisorDeps) {
  const { logger, identity, dataDir } = deps;
  const remoteFile = join(dataDir, REMOTE_CONFIG_FILE);
  const withLocal = (config: AgentConfig): AgentConfig => withLocalOnlyOptions(config, deps.localConfig);
  const stored = loadRemoteConfig(dataDir, logger);
  let version = stored?.version ?? 0;
  let config = stored ? withLocal(stored.config) : deps.localConfig;
  let agent: Agent;
  let client: ControlClient | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  function event(name: AgentEvent, fields: { reason?: string; gap_s?: number }, code: 'ok' | 'error' = 'ok'): void {
    const result: Result = { id: randomUUID(), probe: 'agent_event', target: 'self', measuredAt: clock.now(), code, event: name, fields: { ...fields, ...(fields.reason ? { reason: fields.reason.slice(0, 200) } : {}) } };
    agent.record(result);
  }

  const clock = new AgentClock({
    dataDir,
    thresholdMs: config.control.clockThresholdMs,
    ...deps.clock,
    onStep: ({ fromMs, toMs }) => {
      logger.warn({ fromMs, toMs }, 'measurement-time correction changed');
      // Recorded once the agent exists (the persisted estimate may step before it does).
      setImmediate(() => event('clock_step', { gap_s: (toMs - fromMs) / 1000, reason: `correction ${fromMs} ms -> ${toMs} ms` }));
    },
    onJump: () => client?.heartbeatNow(),
  });
  const build = (c: AgentConfig) => createAgent({ dataDir, config: c, identity, logger, now: clock.now, healthExtra: () => clock.healthFields() });
  agent = build(config);

  async function applyConfig(push: z.infer<typeof ConfigPush>): Promise<{ status: 'applied' | 'rejected'; reason?: string }> {
    if (push.version === version) return { status: 'applied' };
    const reject = (reason: string) => {
      logger.warn({ version: push.version, reason }, 'remote configuration rejected; the current one keeps running');
      event('config_rejected', { reason: `v${push.version}: ${reason}` }, 'error');
      return { status: 'rejected' as const, reason };
    };
    const checked = checkRemoteConfig(push.config);
    if (!checked.ok) return reject(checked.reason);
    const next = withLocal(checked.config);
    const old = agent;
    await old.stop();
    try {
      agent = build(next);
      // Persisted before it is acknowledged, so an acknowledged configuration survives a restart.
      writeFileAtomic(remoteFile, JSON.stringify({ version: push.version, config: push.config }));
    } catch (err) {
      agent = build(config);
      agent.start();
      return reject(`could not start with it: ${(err as Error).message}`);
    }
    agent.start();
    config = next;
    version = push.version;
    logger.info({ version }, 'remote configuration applied');
    event('config_applied', { reason: `v${version}` });
    return { status: 'applied' };
  }

  async function runCommand(push: z.infer<typeof CommandPush>): Promise<{ status: 'done' | 'failed'; detail?: string }> {
    const { command } = push;
    const schedule = config.probes[command.probe];
    if (!schedule) {
      const detail = `unknown probe '${command.probe}' (known: ${Object.keys(config.probes).join(', ')})`;
      event('command', { reason: `${push.id} run_probe ${command.probe}: ${detail}` }, 'error');
      return { status: 'failed', detail };
    }
    const results = await agent.runNow(command.probe, command.targets, AbortSignal.timeout(schedule.timeoutSeconds * 1000));
    const codes = results.map((r) => `${r.target}=${r.code}`).join(', ');
    const detail = `${results.length} result(s) queued: ${codes}`;
    event('command', { reason: `${push.id} run_probe ${command.probe}: ${detail}` });
    logger.info({ command: push.id, probe: command.probe, results: results.length }, 'command done');
    return { status: 'done', detail };
  }

  // The measuring core, then the channel that may replace it; they stop in reverse.
  const services: Service[] = [
    { name: 'agent', start: () => agent.start(), stop: () => serial(() => agent.stop()) },
    {
      name: 'control channel',
      start() {
        if (!config.control.enabled) return logger.info('control channel disabled in the configuration');
        client = new ControlClient({
          collectorUrl: agent.collectorUrl,
          token: identity.token,
          agentVersion: AGENT_VERSION,
          clock,
          logger,
          configVersion: () => version,
          onConfig: (push) => serial(() => applyConfig(push)),
          onCommand: (push) =>
            serial(() => runCommand(push)).catch((err: unknown) => ({ status: 'failed' as const, detail: (err as Error).message })),
          backoffInitialMs: config.control.backoffInitialSeconds * 1000,
          backoffMaxMs: config.control.backoffMaxSeconds * 1000,
        });
        client.start();
      },
      stop: () => client?.stop(),
    },
  ];
  let running: Running | undefined;

  return {
    clock,
    current: () => agent,
    version: () => version,
    start(): void {
      running = startServices(services, (name, err) => logger.error({ err, service: name }, 'could not stop cleanly'));
    },
    async stop(): Promise<void> {
      await running?.stop();
    },
  };
}
