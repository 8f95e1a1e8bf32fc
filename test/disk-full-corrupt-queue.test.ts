// Fault test: the agent's disk full, and its queue file corrupted in the middle. The data directory is a
// real 4 MiB tmpfs (root only), so ENOSPC comes from the kernel, not from a fake. The agent must keep
// running, count what it skipped (corrupt record) and could not append (disk full), report both in
// agent_health, and lose nothing else.
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Result } from '../protocol/results.ts';
import { DurableQueue } from '../agent/queue/durable-queue.ts';
import { createDb, influxQuery, uniqueTestDb } from './support/influx-query.ts';
import { eventually, killAll } from './support/processes.ts';
import { createStack, FAST_AGENT_CONFIG, queuedIds, type Stack } from './support/stack.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('diskfull');
const isRoot = process.platform === 'linux' && process.getuid?.() === 0;
if (!isRoot) console.warn('[disk-full] skipped: mounting a small tmpfs for the data directory needs root on Linux');
let stack: Stack;
let mnt: string | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  await createDb(influxUrl, db);
  stack = await createStack({ influxUrl, db, siteCode: 'DISK-FULL' });
  await stack.startCollector();
  mnt = join(stack.root, 'diskfull');
  mkdirSync(mnt, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'songcheck-test', mnt]);
});
afterAll(async () => {
  await killAll();
  // Lazy: unmounts even if something still holds a file open; then the directory can go.
  if (mnt) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
  stack?.cleanup();
});

const stored = async (measurement = '/.*/') => influxQuery(influxUrl, db, `SELECT * FROM ${measurement} WHERE site = 'DISK-FULL'`);

describe.skipIf(!isRoot)('agent disk full, queue file corrupted in the middle', () => {
  it('the agent keeps running, counts and reports what it skipped or could not append, loses nothing else', async () => {
    const dataDir = await stack.enrollAgent('diskfull');
    // 20 results waiting from an earlier run; then one line in the middle of the segment is damaged.
    const queue = DurableQueue.open<Result>({ dir: join(dataDir, 'queue'), maxBytes: 50 * 2 ** 20 });
    const earlier: Result[] = Array.from({ length: 20 }, (_, i) => ({ id: randomUUID(), probe: 'tcp', target: 'earlier:443', measuredAt: Date.now() - 60_000 + i, code: 'ok', fields: { sent: 1, received: 1, loss_pct: 0 } }));
    for (const r of earlier) queue.append(r);
    queue.close();
    const segFile = join(dataDir, 'queue', readdirSync(join(dataDir, 'queue')).find((f) => f.startsWith('seg-'))!);
    const lines = readFileSync(segFile, 'utf8').split('\n');
    lines[10] = lines[10]!.replace('"code":"ok"', '"code":"ko"'); // same length, checksum no longer matches
    writeFileSync(segFile, lines.join('\n'));
    const damaged = earlier[10]!.id;

    const agent = stack.startAgent(dataDir, FAST_AGENT_CONFIG);
    const ids = async () => new Set((await stored()).map((r) => String(r.result_id)));
    await eventually(async () => {
      const s = await ids();
      return earlier.filter((r) => r.id !== damaged).every((r) => s.has(r.id)) ? true : undefined;
    }, 60_000, 'the 19 undamaged earlier results to be stored');

    // Disk full while the collector is away: nothing can be delivered and nothing more can be written.
    await stack.stopCollector('SIGTERM');
    const beforeFull = queuedIds(agent).length;
    await eventually(() => (queuedIds(agent).length >= beforeFull + 3 ? true : undefined), 30_000, 'results queued while the collector is away');
    const filler = join(mnt!, 'filler');
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(64 * 1024);
    let full = '';
    try {
      for (let i = 0; i < 1_000; i++) writeSync(fd, chunk); // 64 MiB at most; the 4 MiB tmpfs fills long before
    } catch (err) {
      full = String((err as NodeJS.ErrnoException).code);
    } finally {
      closeSync(fd);
    }
    expect(full).toBe('ENOSPC');
    const failedLines = () => agent.lines.filter((l) => l.includes('could not write the result to the queue')).length;
    await eventually(() => (failedLines() >= 3 ? true : undefined), 30_000, 'appends failing with the disk full');
    expect(agent.proc.exitCode).toBeNull();
    rmSync(filler);
    await stack.startCollector();

    // Everything the queue accepted is delivered; health reports the skipped record and the failed appends.
    const health = await eventually(async () => {
      const s = await ids();
      if (!queuedIds(agent).every((id) => s.has(id))) return undefined;
      const rows = await stored('agent_health');
      return rows.find((r) => Number(r.skipped_corrupt_total) >= 1 && Number(r.append_failed_total) >= 3);
    }, 90_000, 'all queued results and an agent_health point reporting the skipped record and failed appends');
    expect(agent.proc.exitCode).toBeNull();
    const failedAppends = failedLines();
    const queued = queuedIds(agent);
    await agent.kill('SIGTERM');

    // Only results: the collector's own measurements (presence, site_info) carry no result_id.
    const points = (await influxQuery(influxUrl, db, `SELECT result_id FROM /.*/ WHERE site = 'DISK-FULL'`)).map((r) => String(r.result_id));
    const lost = queued.filter((id) => !points.includes(id));
    console.log(
      `[disk-full] earlier=20 damaged=1 queued by the agent=${queued.length} appends failed=${failedAppends} ` +
        `health: skipped_corrupt_total=${String(health.skipped_corrupt_total)} append_failed_total=${String(health.append_failed_total)} lost=${lost.length}`,
    );
    expect(points).not.toContain(damaged);
    expect(lost).toEqual([]);
    const seen = new Set<string>();
    expect(points.filter((id) => (seen.has(id) ? true : (seen.add(id), false)))).toEqual([]);
  }, 300_000);
});
