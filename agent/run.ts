// The composition root of `songcheck-agent run`: the process's services in start order (run lock, log, the
// supervised agent, the live table); they stop in reverse when SIGINT or SIGTERM arrives. Inside, the
// supervisor (control/supervisor.ts) composes the measuring core and the control channel the same way, and
// the core (agent.ts) its queue, uploader, uptime monitor and scheduler: a pushed configuration restarts the
// core alone, so it is its own list.
import type { AgentConfig } from '../protocol/agent-config.ts';
import { startSupervisedAgent, type SupervisorDeps } from './control/supervisor.ts';
import { loadIdentity } from './identity/identity.ts';
import { startServices } from './platform/lifecycle.ts';
import { createAgentLog } from './platform/logging.ts';
import { acquireRunLock } from './platform/run-lock.ts';
import { attachLiveTable } from './status/live-table.ts';

export interface RunOptions {
  dataDir: string;
  config: AgentConfig;
  /** The live table on the terminal (logs then go to files: they would tear it). */
  live: boolean;
  /** Logs to <data dir>/logs/agent.log, rotated (as a service). */
  logToFile: boolean;
  /** Test hook: a skewed device clock. */
  clock?: SupervisorDeps['clock'];
}

/** Runs the agent until SIGINT or SIGTERM, then stops every part in reverse order. */
export async function runAgent(o: RunOptions): Promise<void> {
  const identity = loadIdentity(o.dataDir);
  const releaseLock = acquireRunLock(o.dataDir);
  let log: Awaited<ReturnType<typeof createAgentLog>>;
  try {
    log = await createAgentLog({ level: o.config.log.level, dataDir: o.dataDir, toFile: o.live || o.logToFile });
  } catch (err) {
    releaseLock();
    throw err;
  }
  const { logger } = log;
  // The agent runs under the control channel: corrected clock, remote configuration, commands.
  const supervised = startSupervisedAgent({ dataDir: o.dataDir, localConfig: o.config, identity, logger, ...(o.clock ? { clock: o.clock } : {}) });
  let detach = (): void => {};
  const running = startServices(
    [
      { name: 'run lock', stop: releaseLock },
      { name: 'log', stop: () => log.close() },
      // Attached before the agent starts, so the table sees its first results.
      { name: 'live table', start: () => void (o.live && (detach = attachLiveTable(supervised.current()))), stop: () => detach() },
      { name: 'agent', start: () => supervised.start(), stop: () => supervised.stop() },
    ],
    (name, err) => logger.error({ err, service: name }, 'could not stop cleanly'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await running.stop();
}
