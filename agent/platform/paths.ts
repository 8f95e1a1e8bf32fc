import { homedir } from 'node:os';
import { join, win32 } from 'node:path';

/**
 * Where the agent keeps its identity, queue and config. A service gets the platform's state directory
 * (systemd's StateDirectory=, Windows' ProgramData) so it survives user profiles; a person running it by hand
 * gets ~/.songcheck.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.SONGCHECK_AGENT_DIR) return env.SONGCHECK_AGENT_DIR;
  if (env.STATE_DIRECTORY) return env.STATE_DIRECTORY.split(':')[0]!;
  if (platform === 'win32' && runsAsWindowsService(env)) {
    return windowsDataDir(env);
  }
  return join(homedir(), '.songcheck');
}

/** %ProgramData%\songcheck: the Windows service's data directory (always Windows paths, also in tests on Linux). */
export function windowsDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return win32.join(env.ProgramData || env.ALLUSERSPROFILE || 'C:\\ProgramData', 'songcheck');
}

/** Windows services run as LocalSystem, whose profile lives under ...\systemprofile. */
function runsAsWindowsService(env: NodeJS.ProcessEnv): boolean {
  return /\\systemprofile$/i.test(env.USERPROFILE ?? '');
}

export const dataFiles = (dir: string) => ({
  identity: join(dir, 'identity.json'),
  config: join(dir, 'config.yaml'),
  queue: join(dir, 'queue'),
  /** The uptime monitor's state between runs: clean-stop flag, last alive, open slot, ongoing outage. */
  uptime: join(dir, 'uptime-state.json'),
  /** Logs of `run --log-file` and `run --live` (rotated; see logging.ts). */
  logs: join(dir, 'logs'),
});
