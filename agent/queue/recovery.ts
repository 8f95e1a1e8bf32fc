// Opening a queue directory after a clean stop or a crash: find where delivery resumes, cut a torn tail off
// the write segment, and count what is pending, in one pass over the pending bytes.
import path from 'node:path';
import { CURSOR_TMP, fsyncDir, parseSegmentName, readCursor, readLines, segmentName, tryUnlink } from './segment.ts';
import type { CursorState, Line, QueueFs } from './segment.ts';

export interface Segment {
  num: number;
  size: number;
  /** Lines at or after the cursor (the whole file unless this is the head segment). */
  lines: number;
}

export interface RecoveryReport {
  /**
   * 'missing' / 'corrupt': delivery restarts at the oldest segment and the counters restart from zero.
   * 'stale': the cursor named a segment no longer on disk (an eviction whose cursor write failed), so
   * delivery resumed at the oldest segment left.
   */
  cursor: 'ok' | 'missing' | 'corrupt' | 'stale';
  tornTailDropped: boolean;
  /** Corrupt lines first seen by this open (already added to skippedCorruptTotal). */
  newlyCorrupt: number;
  /** Set when the recovered cursor could not be written; the queue still works, counters may recount. */
  cursorWriteError?: string;
}

export interface Recovered {
  /** segs[0] holds the cursor; the last one is open as `fd` for writing. */
  segs: Segment[];
  fd: number;
  state: CursorState;
  /** Valid pending records. */
  depth: number;
  /** JSON of the oldest valid pending record. */
  oldest: Buffer | undefined;
  report: RecoveryReport;
}

const EMPTY: CursorState = { segment: 1, offset: 0, evictedTotal: 0, skippedCorruptTotal: 0, appendFailedTotal: 0, tornTailDroppedTotal: 0, lastAckAt: null, corrupt: [] };

/** Creates an empty segment and makes its directory entry durable; returns a write descriptor. */
export function createSegment(fs: QueueFs, dir: string, num: number): number {
  // 'w', not 'wx': a file left by a roll that failed before it was used holds nothing we track.
  const fd = fs.openSync(path.join(dir, segmentName(num)), 'w', 0o600);
  try {
    fsyncDir(fs, dir);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

export function recover(fs: QueueFs, dir: string): Recovered {
  const segPath = (num: number): string => path.join(dir, segmentName(num));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = fs.readdirSync(dir);
  if (names.includes(CURSOR_TMP)) tryUnlink(fs, path.join(dir, CURSOR_TMP));
  let nums = names.flatMap((n) => parseSegmentName(n) ?? []).sort((a, b) => a - b);

  const read = readCursor(fs, dir);
  let cursor: RecoveryReport['cursor'] = 'state' in read ? 'ok' : read.problem;
  // Without a trustworthy cursor, start at the oldest segment: re-delivering beats skipping.
  let state: CursorState = 'state' in read ? read.state : { ...EMPTY, segment: nums[0] ?? 1 };
  if (nums.length === 0) {
    state = { ...state, offset: 0 };
  } else if (!nums.includes(state.segment)) {
    if (cursor === 'ok') cursor = 'stale';
    state = { ...state, segment: nums[0]!, offset: 0 };
  } else {
    // An ack that crashed between writing the cursor and deleting what it passed.
    for (const n of nums) if (n < state.segment) tryUnlink(fs, segPath(n));
    nums = nums.filter((n) => n >= state.segment);
  }
  if (nums.length === 0) {
    fs.closeSync(createSegment(fs, dir, state.segment));
    nums = [state.segment];
  }
  const segs: Segment[] = nums.map((num) => ({ num, size: fs.statSync(segPath(num)).size, lines: 0 }));
  const fd = fs.openSync(segPath(nums.at(-1)!), 'r+');

  const known = new Set(state.corrupt.map(([s, o]) => `${s}:${o}`));
  const corrupt: Array<[number, number]> = [];
  let newlyCorrupt = 0;
  let depth = 0;
  let oldest: Buffer | undefined;
  let tornTailDropped = false;
  try {
    for (const [i, seg] of segs.entries()) {
      const take = (line: Line): void => {
        seg.lines++;
        if (line.body) {
          depth++;
          oldest ??= line.body;
        } else {
          corrupt.push([seg.num, line.offset]);
          if (!known.has(`${seg.num}:${line.offset}`)) newlyCorrupt++;
        }
      };
      const isLast = i === segs.length - 1;
      // The write segment's last line is held back: only an unsynced append can be torn, and only there,
      // so a fragment or mismatch there is cut off (not counted as corruption) before anything is appended.
      let held: Line | undefined;
      for (const line of readLines(fs, segPath(seg.num), i === 0 ? Math.min(state.offset, seg.size) : 0, seg.size)) {
        if (!isLast) take(line);
        else {
          if (held) take(held);
          held = line;
        }
      }
      if (held?.terminated && held.body) take(held);
      else if (held) {
        fs.ftruncateSync(fd, held.offset);
        fs.fsyncSync(fd);
        seg.size = held.offset;
        tornTailDropped = true;
      }
    }
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return {
    segs,
    fd,
    depth,
    oldest,
    state: {
      ...state,
      offset: Math.min(state.offset, segs[0]!.size),
      skippedCorruptTotal: state.skippedCorruptTotal + newlyCorrupt,
      tornTailDroppedTotal: state.tornTailDroppedTotal + (tornTailDropped ? 1 : 0),
      corrupt,
    },
    report: { cursor, tornTailDropped, newlyCorrupt },
  };
}
