// Read-only look at a queue directory, for `songcheck-agent status` and `doctor` while the agent runs: no
// lock, no recovery, no write. It reads the cursor and the segments behind it and counts the valid records;
// a line being appended at that moment reads as a torn tail and is simply not counted yet.
import path from 'node:path';
import { nodeQueueFs, parseSegmentName, readCursor, readLines, segmentName, type QueueFs } from './segment.ts';

export interface QueueSnapshot {
  /** Valid records not yet acknowledged. */
  depth: number;
  /** Bytes from the cursor to the end of the data. */
  bytes: number;
  /** measuredAt of the oldest pending record, when it has one. */
  oldestMeasuredAt?: number;
  lastAckAt?: number;
  evictedTotal: number;
  cursor: 'ok' | 'missing' | 'corrupt';
}

export function inspectQueue(dir: string, fs: QueueFs = nodeQueueFs): QueueSnapshot | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined; // no queue yet
  }
  const nums = names.flatMap((n) => parseSegmentName(n) ?? []).sort((a, b) => a - b);
  const read = readCursor(fs, dir);
  const state = 'state' in read ? read.state : undefined;
  // Without a cursor the agent would resume at the oldest segment; count the same way.
  const from = state && nums.includes(state.segment) ? state : { segment: nums[0] ?? 0, offset: 0 };
  let depth = 0;
  let bytes = 0;
  let oldestMeasuredAt: number | undefined;
  for (const num of nums.filter((n) => n >= from.segment)) {
    const file = path.join(dir, segmentName(num));
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      continue; // acknowledged and deleted since readdir
    }
    const start = num === from.segment ? Math.min(from.offset, size) : 0;
    bytes += size - start;
    for (const line of readLines(fs, file, start, size)) {
      if (!line.body) continue;
      depth++;
      if (oldestMeasuredAt === undefined) {
        try {
          const at = (JSON.parse(line.body.toString('utf8')) as { measuredAt?: unknown }).measuredAt;
          if (typeof at === 'number') oldestMeasuredAt = at;
        } catch {
          // counted; its time is simply unknown
        }
      }
    }
  }
  return {
    depth,
    bytes,
    ...(oldestMeasuredAt !== undefined && { oldestMeasuredAt }),
    ...(state?.lastAckAt != null && { lastAckAt: state.lastAckAt }),
    evictedTotal: state?.evictedTotal ?? 0,
    cursor: 'state' in read ? 'ok' : read.problem,
  };
}
