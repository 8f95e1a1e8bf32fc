// On-disk framing for the durable queue: record lines, segment names, the cursor file, and the few
// file-system moves whose order carries the crash-safety argument (see durable-queue.ts).
import { createHash } from 'node:crypto';
import nodeFs from 'node:fs';
import path from 'node:path';

/**
 * The synchronous file-system calls the queue makes. Node's `fs` satisfies it; tests pass a wrapper that
 * injects faults (ENOSPC, EIO, short writes) so the real error paths run against real files.
 */
export interface QueueFs {
  openSync(path: string, flags: string, mode?: number): number;
  closeSync(fd: number): void;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, len: number): void;
  statSync(path: string): { size: number };
  readdirSync(path: string): string[];
  mkdirSync(path: string, options: { recursive: true; mode: number }): unknown;
  renameSync(oldPath: string, newPath: string): void;
  unlinkSync(path: string): void;
  readFileSync(path: string): Buffer;
}

export const nodeQueueFs: QueueFs = nodeFs;

/** Byte offset of a record's first byte inside a segment; also "everything before here". */
export interface Position {
  readonly segment: number;
  readonly offset: number;
}

export const CURSOR_FILE = 'cursor.json';
export const CURSOR_TMP = 'cursor.json.tmp';
const CHECK_LEN = 16; // hex chars: 8 bytes of sha256 is plenty to tell a torn or flipped line from a good one
const NL = 0x0a;
const SPACE = 0x20;

export const segmentName = (n: number): string => `seg-${String(n).padStart(16, '0')}.log`;

export function parseSegmentName(name: string): number | undefined {
  const m = /^seg-(\d{16})\.log$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

// sha256 rather than zlib.crc32: the latter only exists from Node 20.15 and the fleet runs older 20.x.
export function checksum(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, CHECK_LEN);
}

/** `<checksum> <json>\n`. JSON.stringify never emits a raw newline, so one line is exactly one record. */
export function encodeRecord(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  return Buffer.concat([Buffer.from(`${checksum(body)} `, 'latin1'), body, Buffer.of(NL)]);
}

export interface Line {
  /** Absolute offset of the line's first byte. */
  offset: number;
  /** Absolute offset just past the line (past its newline when terminated). */
  end: number;
  /** False for a trailing fragment with no newline: a torn write. */
  terminated: boolean;
  /** The JSON bytes when the checksum holds; undefined for a corrupt or torn line. */
  body: Buffer | undefined;
}

function decode(data: Buffer, start: number, stop: number): Buffer | undefined {
  if (stop - start < CHECK_LEN + 2 || data[start + CHECK_LEN] !== SPACE) return undefined;
  const body = data.subarray(start + CHECK_LEN + 1, stop);
  return data.toString('latin1', start, start + CHECK_LEN) === checksum(body) ? body : undefined;
}

const CHUNK = 64 * 1024;

/**
 * Lines of `file` between byte offsets [from, to), read by position so a peek costs what it returns. Every
 * read re-verifies checksums, so a bit flipped on disk after append is caught here, not uploaded.
 */
export function* readLines(fs: QueueFs, file: string, from: number, to: number): Generator<Line> {
  const fd = fs.openSync(file, 'r');
  try {
    let carry = Buffer.alloc(0);
    let carryAt = from;
    let pos = from;
    while (pos < to) {
      // Grow the read with the carried partial line so one huge (or newline-less, corrupt) line costs
      // linear time, not a re-copy per chunk.
      const want = Math.min(Math.max(CHUNK, carry.length), to - pos);
      const buf = Buffer.allocUnsafe(want);
      const got = fs.readSync(fd, buf, 0, want, pos);
      if (got === 0) break; // shorter than we were told: the missing rest reads as a torn tail
      pos += got;
      const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, got)]) : buf.subarray(0, got);
      let start = 0;
      for (let nl = data.indexOf(NL); nl !== -1; nl = data.indexOf(NL, start)) {
        yield { offset: carryAt + start, end: carryAt + nl + 1, terminated: true, body: decode(data, start, nl) };
        start = nl + 1;
      }
      carry = data.subarray(start);
      carryAt += start;
    }
    if (carry.length > 0) yield { offset: carryAt, end: carryAt + carry.length, terminated: false, body: undefined };
  } finally {
    fs.closeSync(fd);
  }
}

export function writeAll(fs: QueueFs, fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs.writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += n;
  }
}

/**
 * Makes a directory entry (a new segment, a rename) durable. Windows cannot open a directory for fsync and
 * NTFS journals its metadata, so there it is skipped.
 */
export function fsyncDir(fs: QueueFs, dir: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function tryUnlink(fs: QueueFs, file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // A leftover file is harmless: recovery deletes segments behind the cursor and stray temp files.
  }
}

/** What cursor.json holds. Counters live here so they survive restarts with the cursor they belong to. */
export interface CursorState extends Position {
  evictedTotal: number;
  skippedCorruptTotal: number;
  /** Persisted with the next cursor write after a failure, so a crash right after a failure can lose it. */
  appendFailedTotal: number;
  tornTailDroppedTotal: number;
  lastAckAt: number | null;
  /** Pending corrupt lines already counted in skippedCorruptTotal, so a restart does not count them again. */
  corrupt: Array<[segment: number, offset: number]>;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export type CursorRead = { state: CursorState } | { problem: 'missing' | 'corrupt' };

export function readCursor(fs: QueueFs, dir: string): CursorRead {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, CURSOR_FILE)).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { problem: 'missing' };
    throw err;
  }
  try {
    const file = JSON.parse(text) as { version?: unknown; check?: unknown; state?: Partial<CursorState> };
    const s = file.state;
    if (file.version !== 1 || !s || file.check !== checksum(Buffer.from(JSON.stringify(s), 'utf8'))) {
      return { problem: 'corrupt' };
    }
    const counts = [s.segment, s.offset, s.evictedTotal, s.skippedCorruptTotal, s.appendFailedTotal, s.tornTailDroppedTotal];
    const corruptOk = Array.isArray(s.corrupt) && s.corrupt.every((p) => Array.isArray(p) && p.length === 2 && p.every(isCount));
    if (!counts.every(isCount) || !corruptOk || !(s.lastAckAt === null || isCount(s.lastAckAt))) {
      return { problem: 'corrupt' };
    }
    return { state: s as CursorState };
  } catch {
    return { problem: 'corrupt' };
  }
}

/**
 * Replaces cursor.json atomically: write a temp file, fsync it, rename over, fsync the directory. A crash
 * leaves either the old cursor or the new one, never a mix; the checksum catches anything else.
 */
/**
 * The cursor is padded to whole 4 KiB blocks, so that on a full disk it can be rewritten in place: an
 * overwrite of blocks the file already has needs no new block, where the usual tmp-file-and-rename needs
 * one. Without that, a full disk kept delivered results on disk for ever (every ack failed to create
 * cursor.json.tmp, so no consumed segment was deleted and nothing freed space).
 */
const CURSOR_BLOCK = 4096;

export function writeCursor(fs: QueueFs, dir: string, state: CursorState): void {
  const stateJson = JSON.stringify(state);
  const json = Buffer.from(JSON.stringify({ version: 1, check: checksum(Buffer.from(stateJson, 'utf8')), state }), 'utf8');
  // Trailing spaces before the newline: JSON.parse ignores them.
  const size = Math.ceil((json.length + 1) / CURSOR_BLOCK) * CURSOR_BLOCK;
  const bytes = Buffer.alloc(size, 0x20);
  json.copy(bytes);
  bytes[size - 1] = 0x0a;
  const tmp = path.join(dir, CURSOR_TMP);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w', 0o600);
  } catch (err) {
    if (isDiskFull(err) && rewriteInPlace(fs, dir, bytes)) return;
    throw err;
  }
  try {
    writeAll(fs, fd, bytes, 0);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    tryUnlink(fs, tmp);
    if (isDiskFull(err) && rewriteInPlace(fs, dir, bytes)) return;
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, path.join(dir, CURSOR_FILE));
  fsyncDir(fs, dir);
}

const isDiskFull = (err: unknown) => ['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException)?.code ?? '');

/**
 * Overwrites cursor.json in place when the new text fits in the blocks it already has. Not atomic: a torn
 * write leaves a cursor whose checksum fails, and recovery then resumes at the oldest segment left, which
 * only resends delivered results (the collector stores each once). Returns false when it does not fit.
 */
function rewriteInPlace(fs: QueueFs, dir: string, bytes: Buffer): boolean {
  const file = path.join(dir, CURSOR_FILE);
  let existing: number;
  try {
    existing = fs.statSync(file).size;
  } catch {
    return false;
  }
  if (existing < bytes.length) return false;
  const fd = fs.openSync(file, 'r+');
  try {
    writeAll(fs, fd, bytes, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}
