// `npm run demo` is the first thing a new user runs: it must start the whole stack, show results being
// delivered, and stop cleanly on Ctrl-C (SIGINT) — twice, since the second run reuses the enrolled agent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, REPO_ROOT, spawnNode } from './support/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'songcheck-demo-'));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

async function runDemoUntilDelivered() {
  const demo = spawnNode(join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), [join(REPO_ROOT, 'scripts/demo.ts')], { SONGCHECK_DEMO_DIR: dir });
  // Not a terminal, so the live table prints one line per event instead of redrawing.
  await demo.waitForLine(/queued\s+tcp 127\.0\.0\.1:\d+ ok/, 60_000);
  const delivered = await demo.waitForLine(/delivered\s+[1-9]\d* result/, 60_000);
  demo.proc.kill('SIGINT');
  const code = await demo.exited;
  return { demo, delivered, code };
}

describe('npm run demo', () => {
  it('starts InfluxDB, the collector and an enrolled agent, shows results delivered, and stops on Ctrl-C', async () => {
    const { demo, delivered, code } = await runDemoUntilDelivered();
    expect(delivered).toMatch(/delivered/);
    expect(demo.lines.some((l) => /enrolled as device dev_\w+ of site DEMO-001/.test(l))).toBe(true);
    expect(code).toBe(0);
    expect(demo.lines.at(-1)).toMatch(/stopped; data kept in/);
  });

  it('runs again on the same data: the agent is already enrolled and delivers to the new collector port', async () => {
    const { demo, code } = await runDemoUntilDelivered();
    expect(demo.lines.some((l) => /agent already enrolled/.test(l))).toBe(true);
    expect(code).toBe(0);
  });
});
