import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireRunLock, RunLockError } from './run-lock.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'songcheck-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('run lock', () => {
  it('refuses a second agent on the same data directory while the first runs', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(join(dir, 'agent.lock'), JSON.stringify({ pid: other.pid, at: Date.now() }));
      expect(() => acquireRunLock(dir)).toThrow(RunLockError);
      expect(() => acquireRunLock(dir)).toThrow(`another agent (pid ${other.pid}) is already running`);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a lock written before the last boot even if its pid is alive now (pid reused after a power cut)', () => {
    writeFileSync(join(dir, 'agent.lock'), JSON.stringify({ pid: process.ppid, at: Date.UTC(2020, 0, 1) }));
    const release = acquireRunLock(dir);
    release();
  });

  it('takes over an unreadable lock file', () => {
    writeFileSync(join(dir, 'agent.lock'), 'garbage');
    acquireRunLock(dir)();
  });

  it('takes over a lock left by a process that died, and releases it', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(join(dir, 'agent.lock'), JSON.stringify({ pid: dead.pid, at: Date.now() }));
    const release = acquireRunLock(dir);
    expect(existsSync(join(dir, 'agent.lock'))).toBe(true);
    release();
    expect(existsSync(join(dir, 'agent.lock'))).toBe(false);
  });
});
