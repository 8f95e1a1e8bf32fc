import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { uptime } from 'node:os';
import { join } from 'node:path';

/**
 * One running agent per data directory: two would append to one queue and delete each other's results.
 * The lock file holds the owner's pid and when it was taken; a lock left by a process that no longer exists
 * (SIGKILL), or written before the last boot (power cut: the pid may since belong to something else), is
 * taken over, so an unattended agent never locks itself out.
 */
export function acquireRunLock(dataDir: string): () => void {
  const file = join(dataDir, 'agent.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, at: Date.now() }));
      closeSync(fd);
      return () => {
        try {
          if (readLock(file)?.pid === process.pid) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = liveOwner(file);
      if (owner && owner.pid !== process.pid) {
        throw new RunLockError(`another agent (pid ${owner.pid}) is already running with ${dataDir}; stop it first`);
      }
      unlinkSync(file);
    }
  }
  throw new RunLockError(`could not take the lock ${file}`);
}

/** The running agent holding the lock of `dataDir`, if any; reads only (for `status` and `doctor`). */
export function runningAgent(dataDir: string): { pid: number; at: number } | undefined {
  return liveOwner(join(dataDir, 'agent.lock'));
}

/** The lock's owner when it is still running and took the lock since the last boot. */
function liveOwner(file: string): { pid: number; at: number } | undefined {
  const owner = readLock(file);
  const bootedAt = Date.now() - uptime() * 1000;
  return owner && owner.at > bootedAt && isAlive(owner.pid) ? owner : undefined;
}

function readLock(file: string): { pid: number; at: number } | undefined {
  try {
    const lock = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; at?: unknown };
    return Number.isInteger(lock.pid) && typeof lock.at === 'number' ? { pid: lock.pid as number, at: lock.at } : undefined;
  } catch {
    return undefined;
  }
}

export class RunLockError extends Error {}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which still means it is running.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
