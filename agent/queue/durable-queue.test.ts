import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableQueue, QueueAppendError } from './durable-queue.ts';
import type { DurableQueueOptions, QueueFs } from './durable-queue.ts';

interface Rec {
  id: string;
  pad: string;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-queue-'));
  dirs.push(d);
  return d;
}

const rec = (i: number, padLen = 300 + ((i * 37) % 700)): Rec => ({ id: `r${i}`, pad: 'x'.repeat(padLen) });
const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, k) => `r${from + k}`);

function open(dir: string, extra: Partial<DurableQueueOptions> = {}): DurableQueue<Rec> {
  return DurableQueue.open<Rec>({ dir, maxBytes: 1024 * 1024, segmentBytes: 4096, ...extra });
}

function pendingIds(q: DurableQueue<Rec>): string[] {
  return q.peek(Number.POSITIVE_INFINITY).records.map((r) => r.id);
}

function segFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith('seg-')).sort();
}

const diskBytes = (dir: string): number => segFiles(dir).reduce((sum, n) => sum + fs.statSync(path.join(dir, n)).size, 0);

/** Line start offsets of one segment file. */
function lineStarts(file: string): number[] {
  const data = fs.readFileSync(file);
  const starts = [0];
  for (let i = data.indexOf(0x0a); i !== -1 && i < data.length - 1; i = data.indexOf(0x0a, i + 1)) starts.push(i + 1);
  return starts;
}

describe('DurableQueue', () => {
  it('hands out a batch whose ack deletes exactly its records, once', () => {
    const q = open(tmpDir());
    for (let i = 0; i < 30; i++) q.append(rec(i));
    const batch = q.nextBatch(12);
    expect(batch.records.map((r) => r.id)).toEqual(range(0, 12));
    q.append(rec(30)); // appended meanwhile: not part of the batch
    batch.ack();
    batch.ack(); // already acknowledged: no-op
    expect(pendingIds(q)).toEqual(range(12, 31));
    expect(q.nextBatch(1000, 2000).records.length).toBeLessThan(19); // bounded in bytes like peek
    q.close();
  });

  it('round-trips append, peek and ack across several segments and deletes acked segments', () => {
    const dir = tmpDir();
    const q = open(dir);
    for (let i = 0; i < 50; i++) q.append(rec(i));
    expect(segFiles(dir).length).toBeGreaterThan(4);
    expect(q.stats()).toMatchObject({ depth: 50, oldestPending: { id: 'r0' }, evictedTotal: 0 });

    const first = q.peek(10);
    expect(first.records.map((r) => r.id)).toEqual(range(0, 10));
    expect(q.peek(10).records.map((r) => r.id)).toEqual(range(0, 10)); // peek does not consume
    q.ack(first.next);
    expect(q.stats()).toMatchObject({ depth: 40, oldestPending: { id: 'r10' } });
    q.ack(first.next); // behind (equal to) the cursor: no-op
    expect(q.stats().depth).toBe(40);

    const byBytes = q.peek(1000, 2000).records;
    expect(byBytes.length).toBeGreaterThan(1);
    expect(byBytes.reduce((n, r) => n + JSON.stringify(r).length, 0)).toBeLessThanOrEqual(2000);
    expect(q.peek(1000, 10).records).toHaveLength(1); // an oversized record still goes out alone

    const rest = q.peek(1000);
    expect(rest.records.map((r) => r.id)).toEqual(range(10, 50));
    q.ack(rest.next);
    expect(q.stats()).toMatchObject({ depth: 0, bytes: 0 });
    expect(q.stats().oldestPending).toBeUndefined();
    expect(segFiles(dir)).toHaveLength(1); // only the write segment survives
    expect(() => q.ack({ segment: rest.next.segment, offset: rest.next.offset + 1 })).toThrow(RangeError);
    expect(() => q.ack({ segment: rest.next.segment + 5, offset: 0 })).toThrow(RangeError);
    q.close();
  });

  it('reopen preserves pending records in order and the acked position', () => {
    const dir = tmpDir();
    let q = open(dir, { now: () => 1_700_000_000_000 });
    for (let i = 0; i < 30; i++) q.append(rec(i));
    q.ack(q.peek(12).next);
    q.close();

    q = open(dir);
    expect(q.recovery).toEqual({ cursor: 'ok', tornTailDropped: false, newlyCorrupt: 0 });
    expect(pendingIds(q)).toEqual(range(12, 30));
    expect(q.stats()).toMatchObject({ depth: 18, oldestPending: { id: 'r12' }, lastAckAt: 1_700_000_000_000, skippedCorruptTotal: 0 });
    q.append(rec(30));
    q.close();

    q = open(dir);
    expect(pendingIds(q)).toEqual(range(12, 31));
    q.close();
  });

  it('rejects a position that is not a record boundary', () => {
    const dir = tmpDir();
    const q = open(dir, { segmentBytes: 1024 * 1024 });
    for (let i = 0; i < 3; i++) q.append(rec(i));
    const { next } = q.peek(1);
    expect(() => q.ack({ segment: next.segment, offset: next.offset + 3 })).toThrow(/boundary/);
    expect(q.stats().depth).toBe(3);
    q.close();
  });

  it('a tail cut at every byte of the last record loses only that record, and later appends do not glue', () => {
    const base = tmpDir();
    const n = 12;
    const q = open(base);
    for (let i = 0; i < n - 1; i++) q.append(rec(i));
    q.append(rec(n - 1, 40)); // a short last record keeps the per-byte loop quick; framing is the same
    q.close();
    const segs = segFiles(base);
    expect(segs.length).toBeGreaterThan(1); // the survivors span segments
    const lastSeg = segs.at(-1)!;
    const size = fs.statSync(path.join(base, lastSeg)).size;
    const start = lineStarts(path.join(base, lastSeg)).at(-1)!;

    for (let cut = start; cut < size; cut++) {
      const dir = tmpDir();
      fs.cpSync(base, dir, { recursive: true });
      fs.truncateSync(path.join(dir, lastSeg), cut);

      let r = open(dir);
      expect(pendingIds(r), `cut at ${cut}`).toEqual(range(0, n - 1));
      expect(r.recovery.tornTailDropped, `cut at ${cut}`).toBe(cut > start);
      expect(fs.statSync(path.join(dir, lastSeg)).size).toBe(start);
      r.append({ id: 'after', pad: '' });
      r.close();

      r = open(dir);
      expect(pendingIds(r), `cut at ${cut}`).toEqual([...range(0, n - 1), 'after']);
      expect(r.stats()).toMatchObject({ depth: n, skippedCorruptTotal: 0 });
      r.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skips a corrupt record in the middle, counts it once across restarts, and catches rot after append', () => {
    const dir = tmpDir();
    let q = open(dir, { segmentBytes: 1024 * 1024 });
    for (let i = 0; i < 10; i++) q.append(rec(i));
    q.close();
    const seg = path.join(dir, segFiles(dir)[0]!);
    const flip = (k: number): void => {
      const data = fs.readFileSync(seg);
      const at = lineStarts(seg)[k]! + 60; // inside the JSON
      data[at] = data[at]! ^ 0x01;
      fs.writeFileSync(seg, data);
    };
    flip(4);

    q = open(dir);
    expect(q.recovery.newlyCorrupt).toBe(1);
    expect(pendingIds(q)).toEqual(range(0, 10).filter((id) => id !== 'r4'));
    expect(q.stats()).toMatchObject({ depth: 9, skippedCorruptTotal: 1 });
    q.close();

    q = open(dir);
    expect(q.stats()).toMatchObject({ depth: 9, skippedCorruptTotal: 1 }); // not counted twice

    flip(7); // rots while the queue is open: the read path re-verifies
    const batch = q.peek(100);
    expect(batch.records.map((r) => r.id)).toEqual(range(0, 10).filter((id) => id !== 'r4' && id !== 'r7'));
    q.ack(batch.next);
    expect(q.stats()).toMatchObject({ depth: 0, skippedCorruptTotal: 2 });
    q.close();

    q = open(dir);
    expect(q.stats()).toMatchObject({ depth: 0, skippedCorruptTotal: 2 });
    q.close();
  });

  it('recovers from a missing, corrupt or stale cursor by re-delivering from the oldest segment', () => {
    const setup = (): { dir: string; oldestId: string } => {
      const dir = tmpDir();
      const q = open(dir);
      for (let i = 0; i < 20; i++) q.append(rec(i));
      q.ack(q.peek(8).next);
      q.close();
      // The first record still on disk (acked or not) is where re-delivery must start.
      const first = fs.readFileSync(path.join(dir, segFiles(dir)[0]!), 'utf8').split('\n')[0]!;
      return { dir, oldestId: (JSON.parse(first.slice(17)) as Rec).id };
    };
    const expectRedelivery = (dir: string, oldestId: string, cursor: string): void => {
      const q = open(dir);
      expect(q.recovery.cursor).toBe(cursor);
      const ids = pendingIds(q);
      expect(ids[0]).toBe(oldestId);
      expect(ids).toEqual(range(Number(oldestId.slice(1)), 20));
      expect(ids).toEqual(expect.arrayContaining(range(8, 20)));
      q.close();
    };

    let { dir, oldestId } = setup();
    fs.rmSync(path.join(dir, 'cursor.json'));
    expectRedelivery(dir, oldestId, 'missing');

    ({ dir, oldestId } = setup());
    const cursor = fs.readFileSync(path.join(dir, 'cursor.json'), 'utf8');
    fs.writeFileSync(path.join(dir, 'cursor.json'), cursor.replace(/"offset":(\d)/, (_, d: string) => `"offset":${(Number(d) + 1) % 10}`));
    expectRedelivery(dir, oldestId, 'corrupt');

    ({ dir, oldestId } = setup());
    fs.writeFileSync(path.join(dir, 'cursor.json'), '{"version":1,"ch');
    expectRedelivery(dir, oldestId, 'corrupt');

    ({ dir, oldestId } = setup());
    fs.rmSync(path.join(dir, segFiles(dir)[0]!)); // the cursor's segment vanished
    const q = open(dir);
    expect(q.recovery.cursor).toBe('stale');
    const ids = pendingIds(q);
    expect(ids).toEqual(range(Number(ids[0]!.slice(1)), 20));
    q.close();
  });

  it('keeps segment files within maxBytes by evicting the oldest segments and counts evictions exactly', () => {
    const dir = tmpDir();
    const maxBytes = 40_000;
    let q = open(dir, { maxBytes, segmentBytes: 8_000 });
    const total = 600;
    for (let i = 0; i < total; i++) {
      q.append(rec(i));
      // The bound: segment files never exceed maxBytes (segmentBytes is clamped to maxBytes and a
      // record larger than maxBytes is refused, so evicting all but the write segment always suffices).
      expect(diskBytes(dir)).toBeLessThanOrEqual(maxBytes);
      expect(q.stats().diskBytes).toBe(diskBytes(dir));
    }
    const s = q.stats();
    const ids = pendingIds(q);
    expect(ids).toEqual(range(total - ids.length, total)); // the newest survive, contiguous
    expect(s.evictedTotal).toBe(total - ids.length);
    expect(s.depth).toBe(ids.length);
    expect(s.oldestPending?.id).toBe(ids[0]);
    expect(diskBytes(dir)).toBeGreaterThan(maxBytes - 8_000 - 1100); // and the cap is used, not wasted
    q.close();

    q = open(dir, { maxBytes, segmentBytes: 8_000 });
    expect(pendingIds(q)).toEqual(ids);
    expect(q.stats()).toMatchObject({ evictedTotal: total - ids.length, depth: ids.length });

    // Lowering the cap evicts at open.
    q.close();
    q = open(dir, { maxBytes: 20_000, segmentBytes: 8_000 });
    expect(diskBytes(dir)).toBeLessThanOrEqual(20_000);
    expect(q.stats().evictedTotal + q.stats().depth).toBe(total);

    const tooBig = (() => {
      try {
        q.append(rec(0, 30_000));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(tooBig).toBeInstanceOf(QueueAppendError);
    expect(tooBig).toMatchObject({ code: 'ERECORDTOOLARGE', retryable: false });
    q.close();
  });

  it('a failing disk (ENOSPC, short write, EIO on fsync, failed truncate) throws QueueAppendError and leaves the queue usable', () => {
    const dir = tmpDir();
    let fault: 'none' | 'enospc' | 'short-then-enospc' | 'fsync-eio' = 'none';
    let truncateFails = 0;
    const errno = (code: string): Error => Object.assign(new Error(`${code}: injected`), { code });
    const faulty: QueueFs = {
      ...fs,
      writeSync(fd, buf, off, len, pos) {
        if (fault === 'enospc') throw errno('ENOSPC');
        if (fault === 'short-then-enospc') {
          fault = 'enospc';
          return fs.writeSync(fd, buf, off, Math.ceil(len / 2), pos);
        }
        return fs.writeSync(fd, buf, off, len, pos);
      },
      fsyncSync(fd) {
        if (fault === 'fsync-eio') throw errno('EIO');
        fs.fsyncSync(fd);
      },
      ftruncateSync(fd, len) {
        if (truncateFails > 0) {
          truncateFails--;
          throw errno('EIO');
        }
        fs.ftruncateSync(fd, len);
      },
    };
    const expectAppendError = (q: DurableQueue<Rec>, r: Rec, code: string): void => {
      let caught: unknown;
      try {
        q.append(r);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(QueueAppendError);
      expect(caught).toMatchObject({ code, retryable: true });
    };

    let q = open(dir, { fs: faulty, segmentBytes: 1024 * 1024 });
    for (let i = 0; i < 5; i++) q.append(rec(i));
    const seg = path.join(dir, segFiles(dir)[0]!);
    const sizeBefore = fs.statSync(seg).size;

    fault = 'short-then-enospc';
    expectAppendError(q, rec(5), 'ENOSPC');
    expect(fs.statSync(seg).size).toBe(sizeBefore); // the half-written line was cut back
    fault = 'none';
    q.append(rec(6));

    fault = 'fsync-eio';
    expectAppendError(q, rec(7), 'EIO');
    fault = 'none';
    q.append(rec(8));

    // The cut-back itself fails: the next append repairs the tail before writing.
    fault = 'short-then-enospc';
    truncateFails = 1;
    expectAppendError(q, rec(9), 'ENOSPC');
    fault = 'none';
    q.append(rec(10));

    expect(pendingIds(q)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r6', 'r8', 'r10']);
    expect(q.stats()).toMatchObject({ depth: 8, appendFailedTotal: 3 });
    q.ack(q.peek(1).next); // persists the counters with the cursor
    q.close();

    q = open(dir);
    expect(q.recovery).toMatchObject({ tornTailDropped: false, newlyCorrupt: 0 });
    expect(pendingIds(q)).toEqual(['r1', 'r2', 'r3', 'r4', 'r6', 'r8', 'r10']);
    expect(q.stats()).toMatchObject({ appendFailedTotal: 3, skippedCorruptTotal: 0 });
    q.close();
  });

  it('keeps every record append() returned for when the writer is SIGKILLed at random moments', async () => {
    const dir = tmpDir();
    const repoRoot = fileURLToPath(new URL('..', import.meta.url));
    const child = fileURLToPath(new URL('../../test/support/durable-queue-crash-child.ts', import.meta.url));
    const printed: string[][] = [];
    for (let run = 0; run < 5; run++) {
      const out = await new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', child, dir, `c${run}`, '16384'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        let timer: NodeJS.Timeout | undefined;
        p.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          if (timer === undefined && (stdout + chunk).includes('ready\n')) {
            timer = setTimeout(() => p.kill('SIGKILL'), 20 + Math.random() * 200);
          }
          stdout += chunk;
        });
        p.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const guard = setTimeout(() => p.kill('SIGKILL'), 8_000);
        p.on('error', reject);
        p.on('close', (code, signal) => {
          clearTimeout(timer);
          clearTimeout(guard);
          if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child failed (${code}): ${stderr}`));
          else resolve(stdout);
        });
      });
      // Only whole lines count: a partial line was being printed when the kill landed.
      const lines = out.split('\n').slice(0, -1).filter((l) => l !== 'ready');
      printed.push(lines);
    }

    const q = open(dir);
    const stored = pendingIds(q);
    expect(q.stats().skippedCorruptTotal).toBe(0);
    expect(new Set(stored).size).toBe(stored.length);
    for (const [run, ids] of printed.entries()) {
      const mine = stored.filter((id) => id.startsWith(`c${run}-`));
      // In order, gap-free, and at most the one record in flight beyond what was printed.
      expect(mine).toEqual(mine.map((_, i) => `c${run}-${i}`));
      expect(mine.slice(0, ids.length)).toEqual(ids);
      expect(mine.length - ids.length).toBeLessThanOrEqual(1);
    }
    expect(printed.flat().length).toBeGreaterThan(0);
    q.close();
  });
});
