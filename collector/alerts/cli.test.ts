// `songcheck-collector alerts ...` as the real bin in a child process, over a real registry file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, COLLECTOR_BIN, REPO_ROOT } from '../../test/support/processes.ts';
import { openCollectorStore } from '../database.ts';
import { AlertStore } from './store.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-alerts-cli-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function cli(args: string[]) {
  const clean = cleanEnv();
  const r = spawnSync(process.execPath, [COLLECTOR_BIN, 'alerts', ...args], { cwd: REPO_ROOT, env: { ...clean, SONGCHECK_DATA_DIR: dataDir }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('songcheck-collector alerts', () => {
  it('lists, acknowledges, silences and unsilences', async () => {
    const db = await openCollectorStore(dataDir);
    await new AlertStore(db).putState({ ruleId: 'site-silent', siteCode: 'LC-001', state: 'firing', since: Date.now(), notifiedAt: Date.now(), clearStreak: 0, summary: 'last heard 42 min ago' });
    await db.close();
    expect(cli(['list']).stdout).toMatch(/site-silent\s+LC-001\s+firing/);
    expect(cli(['ack', '--rule', 'site-silent', '--site', 'LC-001', '--by', 'lan'])).toMatchObject({ code: 0, stdout: 'acknowledged site-silent for LC-001; quiet until it resolves\n' });
    expect(cli(['ack', '--rule', 'site-silent', '--site', 'LC-404']).code).toBe(1);
    const silenced = cli(['silence', '--group', 'operator:viettel', '--minutes', '90', '--reason', 'planned work']);
    expect(silenced.code).toBe(0);
    const id = /silence (sil_[0-9a-f]{16})/.exec(silenced.stdout)![1]!;
    expect(cli(['silences']).stdout).toContain('operator:viettel');
    expect(cli(['unsilence', '--id', id])).toMatchObject({ code: 0 });
    expect(cli(['silences']).stdout).not.toContain(id);
  });

  it('explains a bad silence in one line and exits 2', async () => {
    const r = cli(['silence', '--minutes', '30']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('say what to silence');
    expect(cli(['silence', '--site', 'LC-001', '--bogus']).code).toBe(2);
  });
});
