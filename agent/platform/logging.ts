// Where the agent's log goes. By hand: stdout. As a service (`run --log-file`, which the systemd unit and the
// Windows service pass): <data dir>/logs/agent.log, rotated by size, so a PC nobody looks after never fills
// its disk and a technician can copy the last days of logs onto a USB stick.
import { mkdirSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';
import { dataFiles } from './paths.ts';
import { AGENT_VERSION } from '../version.ts';

/** The live file is rotated past 5 MiB; 4 rotated files are kept: at most 25 MiB of logs. */
export const LOG_ROTATION = { size: '5M', rotate: 4 };

export const LOG_FILE = 'agent.log';

export interface AgentLog {
  logger: Logger;
  /** Flushes and closes the file (a no-op for stdout). */
  close(): Promise<void>;
}

/**
 * rotating-file-stream writes in-process: a pino transport (pino-roll) would run in a worker thread, which
 * costs several MB of resident memory on an agent whose whole budget is 60 MB.
 */
export async function createAgentLog(opts: { level: string; dataDir: string; toFile: boolean; rotation?: { size: string; rotate: number } }): Promise<AgentLog> {
  const base = { level: opts.level, base: { agent: AGENT_VERSION } };
  if (!opts.toFile) return { logger: pino(base), close: async () => {} };
  const dir = dataFiles(opts.dataDir).logs;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const rotation = opts.rotation ?? LOG_ROTATION;
  // Loaded only when used: it brings zlib and child_process, which a stdout agent does not need resident.
  const { createStream } = await import('rotating-file-stream');
  // With `rotate`, the generator is called with the rotation index only (null for the live file).
  const stream = createStream((index: number | Date | null) => (typeof index === 'number' && index > 0 ? `${LOG_FILE}.${index}` : LOG_FILE), {
    path: dir,
    size: rotation.size,
    rotate: rotation.rotate,
    mode: 0o600,
  });
  // A log file that cannot be written (disk full) must not stop the measurements.
  stream.on('error', (err) => process.stderr.write(`songcheck-agent: cannot write the log file: ${String(err)}\n`));
  return {
    logger: pino(base, stream as unknown as DestinationStream),
    close: () => new Promise<void>((resolve) => stream.end(() => resolve())),
  };
}
