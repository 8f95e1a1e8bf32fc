// Issue 14, case 13: `.env.example`'s placeholders and hand-typed tokens were accepted as real secrets
// (anything of 16 characters: `'a'.repeat(16)`, `changeme-changeme`), and the admin token also signed the
// ndt7 test tokens. The collector's own binary now refuses to start with a placeholder or a weak secret,
// one line per variable saying why and how to generate a good one, and before it listens on anything.
import net from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { uniqueTestDb } from '../support/influx-query.ts';
import { COLLECTOR_BIN, freePort, spawnNode } from '../support/processes.ts';
import { strongToken } from '../support/secrets.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GENERATE = 'generate one with `openssl rand -hex 32`';

/** `serve` until it exits, bounded: a collector that starts anyway is stopped and reported as 'started'. */
async function serve(env: NodeJS.ProcessEnv): Promise<{ code: number | null | 'started'; output: string }> {
  const t = spawnNode(COLLECTOR_BIN, ['serve'], env);
  const code = await Promise.race([t.exited, new Promise<'started'>((r) => setTimeout(() => r('started'), 20_000))]);
  if (code === 'started') await t.kill('SIGKILL');
  return { code, output: t.lines.join('\n') };
}

/** Whether anything accepts a TCP connection on the port (bounded to one second). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (v: boolean) => (socket.destroy(), resolve(v));
    socket.once('connect', () => done(true)).once('error', () => done(false));
    setTimeout(() => done(false), 1000).unref();
  });
}

describe('a collector started with placeholder secrets', () => {
  it('refuses to start with changeme, a repeated character, a short key or one secret for two jobs, one line each', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-placeholder-'));
    const port = await freePort();
    const env = {
      SONGCHECK_HOST: '127.0.0.1', SONGCHECK_PORT: String(port), SONGCHECK_DATA_DIR: dataDir,
      SONGCHECK_INFLUX_URL: inject('influxUrl'), SONGCHECK_INFLUX_DB: uniqueTestDb('placeholder'),
    };
    try {
      const weak = await serve({
        ...env,
        SONGCHECK_ADMIN_TOKEN: 'changeme-changeme-changeme',
        SONGCHECK_TEST_TOKEN_KEY: 'a'.repeat(16),
        SONGCHECK_REPORT_TOKEN: 'songcheck-report-token-2025-2025-2025',
      });
      // Before: it started (and served the admin API to anyone who tried `changeme`).
      expect(weak.code).toBe(2);
      expect(weak.output.split('\n').filter((l) => l.startsWith('  '))).toEqual([
        `  SONGCHECK_ADMIN_TOKEN: is a placeholder (it contains "changeme"); ${GENERATE}`,
        `  SONGCHECK_TEST_TOKEN_KEY: is too short (16 characters; at least 32); ${GENERATE}`,
        `  SONGCHECK_REPORT_TOKEN: is made of words, runs and sequences (only 12 other characters); ${GENERATE}`,
      ]);
      expect(await listening(port)).toBe(false);

      const shared = strongToken();
      const reused = await serve({ ...env, SONGCHECK_ADMIN_TOKEN: shared, SONGCHECK_TEST_TOKEN_KEY: shared });
      expect(reused.code).toBe(2);
      expect(reused.output).toContain(`SONGCHECK_TEST_TOKEN_KEY: must differ from SONGCHECK_ADMIN_TOKEN (each secret has its own job); ${GENERATE}`);
      // The refusal never repeats a secret.
      expect(weak.output + reused.output).not.toContain(shared);
      expect(weak.output).not.toContain('changeme-changeme-changeme');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
