import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentLog } from './logging.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('agent log files', () => {
  it('writes JSON lines to <data dir>/logs/agent.log, rotates by size, and keeps a bounded number of files', async () => {
    dir = mkdtempSync(join(tmpdir(), 'songcheck-log-'));
    const log = await createAgentLog({ level: 'info', dataDir: dir, toFile: true, rotation: { size: '2K', rotate: 2 } });
    for (let i = 0; i < 60; i++) {
      log.logger.info({ i, pad: 'x'.repeat(100) }, 'line');
      // Rotation happens between writes; give the stream its turn as a long-running agent would.
      await new Promise((r) => setImmediate(r));
    }
    await log.close();
    const logs = join(dir, 'logs');
    expect(readdirSync(logs).sort()).toEqual(['agent.log', 'agent.log.1', 'agent.log.2']);
    expect(statSync(logs).mode & 0o777).toBe(0o700);
    expect(statSync(join(logs, 'agent.log')).mode & 0o777).toBe(0o600);
    // Oldest to newest: .2, .1, the live file (empty when the last write just rotated it).
    const read = (f: string) => readFileSync(join(logs, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { i: number; agent: string });
    const kept = [...read('agent.log.2'), ...read('agent.log.1'), ...read('agent.log')];
    expect(kept.at(-1)!.i).toBe(59);
    expect(kept.map((l) => l.i)).toEqual(kept.map((_, k) => 60 - kept.length + k));
    // The oldest lines, beyond the two rotated files, were dropped.
    expect(kept.length).toBeLessThan(60);
    expect(kept[0]!.agent).toMatch(/^\d+\.\d+\.\d+/);
    for (const f of readdirSync(logs)) expect(statSync(join(logs, f)).size).toBeLessThan(2048 + 300);
  });
});
