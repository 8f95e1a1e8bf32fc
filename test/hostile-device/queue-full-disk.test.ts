// Issue 14, case 4: a full disk on the agent never freed space. Every ack had to create cursor.json.tmp; on
// ENOSPC the delivered segments were never deleted, so the uploader resent the same batch for ever and
// every new result was lost although the data on disk had been delivered. Now the cursor is preallocated
// and rewritten in place when the disk is full. The test fills a real 1 MiB tmpfs (root only), keeps it
// full with a filler file the whole time the collector answers, and shows the queue drains and new results
// fit again.
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DurableQueue, QueueAppendError } from '../../agent/queue/durable-queue.ts';
import { Uploader } from '../../agent/upload/uploader.ts';
import type { Result } from '../../protocol/results.ts';
import { type HostileStack, hostileStack, NOW } from './support.ts';

const influxUrl = inject('influxUrl');
const isRoot = process.platform === 'linux' && process.getuid?.() === 0;
if (!isRoot) console.warn('[queue-full-disk] skipped: mounting a small tmpfs needs root on Linux');
let s: HostileStack;
let mnt: string | undefined;
const root = mkdtempSync(join(os.tmpdir(), 'songcheck-fulldisk-'));

beforeAll(async () => {
  if (!isRoot) return;
  s = await hostileStack(influxUrl, 'hostile_fulldisk');
  mnt = join(root, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'songcheck-fulldisk', mnt]);
});
afterAll(async () => {
  if (mnt) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
  rmSync(root, { recursive: true, force: true });
  await s?.tc.cleanup();
});

const result = (i: number): Result => ({
  id: randomUUID(), probe: 'tcp', target: 'collector.example.vn:443', measuredAt: NOW - 3_600_000 + i, code: 'ok',
  fields: { sent: 5, received: 5, loss_pct: 0, rtt_median_ms: 40 + (i % 10) },
});

/** Writes until the kernel answers ENOSPC; returns the bytes written. */
function fillDisk(file: string): number {
  const fd = openSync(file, 'w');
  let written = 0;
  try {
    for (const size of [65_536, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x78);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

describe.skipIf(!isRoot)('agent queue on a full disk', () => {
  it('frees delivered space while the disk stays full, and takes new results again', async () => {
    const dir = join(mnt!, 'queue');
    const queue = DurableQueue.open<Result>({ dir, maxBytes: 64 * 2 ** 20, segmentBytes: 64 * 1024 });
    let appended = 0;
    for (let i = 0; i < 100_000; i++) {
      try {
        queue.append(result(i));
        appended++;
      } catch (error) {
        if (!(error instanceof QueueAppendError)) throw error;
        break;
      }
    }
    expect(appended).toBeGreaterThan(500);
    fillDisk(join(mnt!, 'filler')); // whatever the queue left: the disk is now full, and stays full
    expect(() => queue.append(result(-1))).toThrow(QueueAppendError);
    const segmentsBefore = readdirSync(dir).filter((f) => f.startsWith('seg-')).length;

    // The real collector (in process, real InfluxDB) answers the uploader while the disk is full.
    const uploader = new Uploader(queue, {
      collectorUrl: 'http://collector.test', token: s.tc.token, agentVersion: '0.0.0-test', batchSize: 500,
      intervalMs: 1000, timeoutMs: 30_000, backoffInitialMs: 1, backoffMaxMs: 10,
      post: async (url, body, opts) => {
        const res = await s.tc.app.request(url.pathname, { method: 'POST', headers: { ...opts.headers, 'content-type': 'application/json' }, body });
        const text = await res.text();
        return { status: res.status, text, header: (name) => res.headers.get(name) ?? undefined };
      },
    });
    const failure = await uploader.drain(new AbortController().signal);
    expect(failure).toBeUndefined();
    expect(queue.stats().depth).toBe(0);
    expect(uploader.stats.stored).toBe(appended);
    const stored = await s.query('SELECT count(rtt_median_ms) FROM latency');
    expect(stored[0]!.count).toBe(appended);
    // The delivered segments are gone, so the filler still there, new results fit again.
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBeLessThan(segmentsBefore);
    for (let i = 0; i < 50; i++) queue.append(result(200_000 + i));
    expect(queue.stats().depth).toBe(50);
    queue.close();
  });
});
