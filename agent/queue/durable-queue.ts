// The agent's durable queue: results wait here, on plain files, until the collector has acknowledged them.
//
// Layout of `dir`: segment files `seg-<16 digits>.log` holding one record per line, `<checksum> <json>\n`
// (framing in segment.ts), and `cursor.json`, the position of the oldest unacknowledged record
// plus the counters that must survive a restart.
//
// Crash-safety argument:
// - append() writes the whole line and fsyncs the segment before it returns (and fsyncs the directory when
//   it created the segment), so nothing append() returned for is lost by a crash.
// - Only the line being written can be unsynced; recovery cuts a torn or mismatching final line off the
//   last segment, so a crash loses at most that record and the next append never glues onto garbage.
// - Records leave the disk only after cursor.json has durably moved past them: ack(), or eviction when the
//   byte cap is hit (counted in evictedTotal). A cursor naming a segment that no longer exists resumes at
//   the oldest segment on disk: when in doubt, deliver again (the collector's writes are idempotent).
// SIGKILL tests exercise the process-crash half; the power-loss half rests on the fsync order above.
//
// Everything is synchronous on purpose: an agent appends a result every few minutes, and a sync call that
// has returned is durable, with no interleaving to reason about. One process per directory (no lock file).
import path from 'node:path';
import { createSegment, recover } from './recovery.ts';
import type { RecoveryReport, Segment } from './recovery.ts';
import { encodeRecord, nodeQueueFs, readLines, segmentName, tryUnlink, writeAll, writeCursor } from './segment.ts';
import type { CursorState, Position, QueueFs } from './segment.ts';

export type { RecoveryReport } from './recovery.ts';
export type { Position, QueueFs } from './segment.ts';

/**
 * A batch read from the head of the queue: its records, and the one way to delete them. Acknowledging passes
 * exactly these records (and any corrupt lines stepped over among them), so a reader never handles a position.
 */
export interface QueueBatch<T> {
  readonly records: T[];
  /** Deletes the batch durably; a no-op when already acknowledged. Throws when the disk cannot record it. */
  ack(): void;
}

export interface DurableQueueOptions {
  dir: string;
  /** Cap on the total size of segment files; the oldest segments are evicted to stay under it. */
  maxBytes: number;
  /** Roll to a new segment past this size. Default maxBytes/16 within [64 KiB, 4 MiB], never above maxBytes. */
  segmentBytes?: number;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  /** File-system calls; injectable for fault injection. */
  fs?: QueueFs;
}

export interface QueueStats<T> {
  /** Valid pending records (as last verified: at append, at open, or when a read found one corrupt). */
  depth: number;
  /** Bytes from the cursor to the end of the data. */
  bytes: number;
  /** Total size of segment files, the figure the byte cap bounds. */
  diskBytes: number;
  segments: number;
  evictedTotal: number;
  skippedCorruptTotal: number;
  appendFailedTotal: number;
  tornTailDroppedTotal: number;
  lastAckAt?: number;
  oldestPending?: T;
}

/** append() failed; nothing of the record is on disk and the queue remains usable. */
export class QueueAppendError extends Error {
  override readonly name = 'QueueAppendError';
  constructor(
    /** The errno code (ENOSPC, EIO, ...) or ERECORDTOOLARGE. */
    readonly code: string,
    /** False only when retrying the same record cannot succeed. */
    readonly retryable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const KiB = 1024;
const MiB = 1024 * KiB;
const comparePos = (a: Position, b: Position): number => a.segment - b.segment || a.offset - b.offset;

export class DurableQueue<T> {
  private readonly fs: QueueFs;
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly now: () => number;
  /** segs[0] is the segment the cursor is in; the last one is open for writing as `fd`. */
  private segs: Segment[];
  private fd: number;
  private state: CursorState;
  private depth: number;
  private diskBytes: number;
  private oldest: T | undefined;
  /** A failed append left bytes past the tail that could not be truncated yet. */
  private needsRepair = false;
  private closed = false;
  /** What opening found; worth a log line when it is not all 'ok' / false / 0. */
  readonly recovery: RecoveryReport;

  static open<T>(options: DurableQueueOptions): DurableQueue<T> {
    return new DurableQueue<T>(options);
  }

  private constructor(o: DurableQueueOptions) {
    if (!Number.isSafeInteger(o.maxBytes) || o.maxBytes < 1) throw new RangeError('maxBytes must be a positive integer');
    const seg = o.segmentBytes ?? Math.min(4 * MiB, Math.max(64 * KiB, Math.floor(o.maxBytes / 16)));
    if (!Number.isSafeInteger(seg) || seg < 1) throw new RangeError('segmentBytes must be a positive integer');
    this.fs = o.fs ?? nodeQueueFs;
    this.dir = o.dir;
    this.maxBytes = o.maxBytes;
    // A segment larger than the cap could not be evicted to honour it.
    this.segmentBytes = Math.min(seg, o.maxBytes);
    this.now = o.now ?? Date.now;

    const r = recover(this.fs, this.dir);
    this.segs = r.segs;
    this.fd = r.fd;
    this.state = r.state;
    this.depth = r.depth;
    this.diskBytes = r.segs.reduce((sum, s) => sum + s.size, 0);
    this.oldest = r.oldest && parseOrUndefined<T>(r.oldest);
    this.dropExhaustedHead();
    this.evictFor(0); // maxBytes may have been lowered since the last run
    try {
      writeCursor(this.fs, this.dir, this.state);
    } catch (err) {
      r.report.cursorWriteError = String(err);
    }
    this.recovery = r.report;
  }

  private segPath(num: number): string {
    return path.join(this.dir, segmentName(num));
  }

  append(record: T): void {
    this.assertOpen();
    const json = JSON.stringify(record);
    if (typeof json !== 'string') throw new TypeError('record is not JSON-serialisable');
    const line = encodeRecord(json);
    try {
      if (line.length > this.maxBytes) {
        throw new QueueAppendError('ERECORDTOOLARGE', false, `record of ${line.length} bytes exceeds maxBytes ${this.maxBytes}`);
      }
      let tail = this.segs.at(-1)!;
      if (this.needsRepair) {
        this.fs.ftruncateSync(this.fd, tail.size);
        this.needsRepair = false;
      }
      if (tail.size > 0 && tail.size + line.length > this.segmentBytes) tail = this.roll();
      this.evictFor(line.length);
      try {
        writeAll(this.fs, this.fd, line, tail.size);
        this.fs.fsyncSync(this.fd);
      } catch (err) {
        // A partial line left in place would swallow the start of the next record.
        try {
          this.fs.ftruncateSync(this.fd, tail.size);
        } catch {
          this.needsRepair = true;
        }
        throw err;
      }
      tail.size += line.length;
      tail.lines++;
      this.diskBytes += line.length;
      if (this.depth++ === 0) this.oldest = JSON.parse(json) as T;
    } catch (err) {
      this.state = { ...this.state, appendFailedTotal: this.state.appendFailedTotal + 1 };
      if (err instanceof QueueAppendError) throw err;
      const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
      throw new QueueAppendError(code, true, `append failed: ${String(err)}`, { cause: err });
    }
  }

  private roll(): Segment {
    const num = this.segs.at(-1)!.num + 1;
    const fd = createSegment(this.fs, this.dir, num);
    try {
      this.fs.closeSync(this.fd); // Windows cannot delete a file that is still open
    } catch {
      // Its data is already fsynced; a failed close must not undo a roll that has happened.
    }
    this.fd = fd;
    const seg = { num, size: 0, lines: 0 };
    this.segs.push(seg);
    this.dropExhaustedHead();
    return seg;
  }

  /**
   * Moves the cursor to `next` and deletes the segments before it. When `mustPersist` is false the
   * deletion goes ahead even if cursor.json could not be written: only fully consumed (or evicted)
   * segments are dropped, and recovery resumes a cursor whose segment is gone at the oldest one left.
   */
  private advance(next: CursorState, drop: number, mustPersist: boolean): void {
    try {
      writeCursor(this.fs, this.dir, next);
    } catch (err) {
      if (mustPersist) throw err;
    }
    for (const seg of this.segs.splice(0, drop)) {
      this.diskBytes -= seg.size;
      tryUnlink(this.fs, this.segPath(seg.num));
    }
    this.state = next;
  }

  private dropExhaustedHead(): void {
    let k = 0;
    while (k < this.segs.length - 1 && this.segs[k]!.lines === 0) k++;
    if (k > 0) this.advance({ ...this.state, segment: this.segs[k]!.num, offset: 0 }, k, false);
  }

  /** Evicts whole oldest segments, never the write segment, until `incoming` more bytes fit. */
  private evictFor(incoming: number): void {
    let evicted = false;
    while (this.diskBytes + incoming > this.maxBytes && this.segs.length > 1) {
      const [head, next] = [this.segs[0]!, this.segs[1]!];
      const counted = this.state.corrupt.filter(([s]) => s === head.num).length; // never in depth
      const records = head.lines - counted;
      this.advance(
        { ...this.state, segment: next.num, offset: 0, evictedTotal: this.state.evictedTotal + records, corrupt: this.state.corrupt.filter(([s]) => s !== head.num) },
        1,
        false,
      );
      this.depth -= records;
      evicted = true;
    }
    if (evicted) this.refreshOldest();
  }

  peek(maxRecords: number, maxBytes = Number.POSITIVE_INFINITY): { records: T[]; next: Position } {
    this.assertOpen();
    const records: T[] = [];
    let next: Position = { segment: this.state.segment, offset: this.state.offset };
    let bytes = 0;
    outer: for (const [i, seg] of this.segs.entries()) {
      if (records.length >= maxRecords) break;
      for (const line of readLines(this.fs, this.segPath(seg.num), i === 0 ? this.state.offset : 0, seg.size)) {
        if (line.body) {
          // At least one record per batch, or an oversized record would stall the queue for ever.
          if (records.length > 0 && bytes + line.body.length > maxBytes) break outer;
          const value = parseOrUndefined<T>(line.body);
          if (value !== undefined) {
            records.push(value);
            bytes += line.body.length;
          }
        }
        // Corrupt lines are stepped over so that acking this batch passes (and counts) them.
        next = { segment: seg.num, offset: line.end };
        if (records.length >= maxRecords) break outer;
      }
    }
    return { records, next: this.normalize(next) };
  }

  /** The next batch from the head, as a handle whose ack() deletes it (what the uploader works with). */
  nextBatch(maxRecords: number, maxBytes = Number.POSITIVE_INFINITY): QueueBatch<T> {
    const { records, next } = this.peek(maxRecords, maxBytes);
    return { records, ack: () => this.ack(next) };
  }

  /** The end of a fully read, non-final segment is the start of the next one. */
  private normalize(pos: Position): Position {
    let i = this.segs.findIndex((s) => s.num === pos.segment);
    if (i < 0) return pos;
    while (i < this.segs.length - 1 && pos.offset >= this.segs[i]!.size) pos = { segment: this.segs[++i]!.num, offset: 0 };
    return pos;
  }

  /** Deletes everything before `next` (a position from peek), durably. Behind the cursor: a no-op. */
  ack(next: Position): void {
    this.assertOpen();
    if (!Number.isSafeInteger(next.segment) || !Number.isSafeInteger(next.offset) || next.offset < 0) {
      throw new RangeError('invalid queue position');
    }
    if (comparePos(next, this.state) <= 0) return;
    const target = this.normalize(next);
    const idx = this.segs.findIndex((s) => s.num === target.segment);
    if (idx < 0 || target.offset > this.segs[idx]!.size) throw new RangeError('position is beyond the written data');

    // Walk the passed lines once: a record that rotted since it was counted leaves depth as a corrupt skip.
    const known = new Set(this.state.corrupt.map(([s, o]) => `${s}:${o}`));
    let passed = 0;
    let passedKnown = 0;
    let newlyCorrupt = 0;
    let headPassed = 0;
    for (let i = 0; i <= idx; i++) {
      const seg = this.segs[i]!;
      const to = i === idx ? target.offset : seg.size;
      headPassed = 0;
      for (const line of readLines(this.fs, this.segPath(seg.num), i === 0 ? this.state.offset : 0, to)) {
        if (!line.terminated && to < seg.size) throw new RangeError('position is not a record boundary');
        headPassed++;
        if (known.has(`${seg.num}:${line.offset}`)) passedKnown++;
        else if (!line.body) newlyCorrupt++;
      }
      passed += headPassed;
    }
    const corrupt = this.state.corrupt.filter((p) => comparePos({ segment: p[0], offset: p[1] }, target) >= 0);
    this.advance(
      { ...this.state, segment: target.segment, offset: target.offset, skippedCorruptTotal: this.state.skippedCorruptTotal + newlyCorrupt, lastAckAt: this.now(), corrupt },
      idx,
      true,
    );
    this.segs[0]!.lines -= headPassed;
    this.depth -= passed - passedKnown;
    this.refreshOldest();
  }

  private refreshOldest(): void {
    this.oldest = this.depth > 0 ? this.peek(1).records[0] : undefined;
  }

  stats(): QueueStats<T> {
    const s = this.state;
    return {
      depth: this.depth,
      bytes: this.diskBytes - s.offset,
      diskBytes: this.diskBytes,
      segments: this.segs.length,
      evictedTotal: s.evictedTotal,
      skippedCorruptTotal: s.skippedCorruptTotal,
      appendFailedTotal: s.appendFailedTotal,
      tornTailDroppedTotal: s.tornTailDroppedTotal,
      ...(s.lastAckAt !== null && { lastAckAt: s.lastAckAt }),
      ...(this.oldest !== undefined && { oldestPending: this.oldest }),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fs.closeSync(this.fd);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('queue is closed');
  }
}

function parseOrUndefined<T>(body: Buffer): T | undefined {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    return undefined; // a checksum collision on garbage; treated like any other corrupt line
  }
}
