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

/** Signs in with the one-time link the demo printed and reads the console's overview. */
async function consoleOverview(lines: string[]): Promise<string> {
  const link = lines.map((l) => /(http:\/\/\S+\/console\/login\/link\?t=\S+)/.exec(l)?.[1]).find(Boolean);
  expect(link, 'the demo prints a one-time sign-in link').toBeDefined();
  const signIn = await fetch(link!, { redirect: 'manual' });
  expect(signIn.status).toBe(303);
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  const overview = await fetch(new URL('/console', link!), { headers: { cookie } });
  expect(overview.status).toBe(200);
  return overview.text();
}

async function runDemoUntilDelivered() {
  const demo = spawnNode(join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), [join(REPO_ROOT, 'scripts/demo.ts')], { SONGCHECK_DEMO_DIR: dir });
  // Not a terminal, so the live table prints one line per event instead of redrawing.
  // Before the agent starts, the demo loads the province: a month of history for 12 sites through ingest.
  await demo.waitForLine(/queued\s+tcp 127\.0\.0\.1:\d+ ok/, 240_000);
  const delivered = await demo.waitForLine(/delivered\s+[1-9]\d* result/, 60_000);
  const overview = await consoleOverview(demo.lines);
  demo.proc.kill('SIGINT');
  const code = await demo.exited;
  return { demo, delivered, code, overview };
}

describe('npm run demo', () => {
  it('starts InfluxDB, the collector and an enrolled agent, shows results delivered, and stops on Ctrl-C', async () => {
    const { demo, delivered, code, overview } = await runDemoUntilDelivered();
    expect(delivered).toMatch(/delivered/);
    // The console's overview lists the demo province's verdicts: 12 demo sites and the live agent's site, every
    // one counted under a verdict the nightly run stored, the failing ones with their reasons, the silent one.
    const text = overview.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    expect(text).toContain('DỮ LIỆU MẪU');
    const counts = Object.fromEntries([...overview.matchAll(/data-verdict="(\w+)"><b>(\d+)<\/b>/g)].map((m) => [m[1], Number(m[2])]));
    expect((counts.PASS ?? 0) + (counts.FAIL ?? 0) + (counts.INSUFFICIENT ?? 0)).toBe(13);
    expect(counts.NONE ?? 0).toBe(0);
    expect(demo.lines.some((l) => /nightly verdicts computed for .*rolling30/.test(l))).toBe(true);
    expect(text).toMatch(/Điểm mất liên lạc \(1\) .*DEMO-P10/);
    if ((counts.FAIL ?? 0) > 0) expect(text).toMatch(/DEMO-P0[6-9].*(below the required|above the limit)/);
    expect(demo.lines.some((l) => /enrolled as device dev_\w+ of site DEMO-001/.test(l))).toBe(true);
    expect(code).toBe(0);
    expect(demo.lines.at(-1)).toMatch(/stopped; data kept in/);
  }, 360_000);

  it('runs again on the same data: the agent is already enrolled and delivers to the new collector port', async () => {
    const { demo, code } = await runDemoUntilDelivered();
    expect(demo.lines.some((l) => /agent already enrolled/.test(l))).toBe(true);
    expect(code).toBe(0);
  }, 360_000);
});
