// Shared by the collector (ndt7 and HTTP download) and the agent (uploads).
// Incompressible bytes for the sender side of a test. One random pool per process (1 MiB, grown to the
// largest message asked for, at most 16 MiB), sent from random offsets. Repeating a 1 MiB random block is
// incompressible for anything on a path: gzip/deflate look back 32 KiB and TLS does not compress; only a
// long-window compressor (zstd --long) could find the repetition, and nothing on a mobile path runs one.
import { randomBytes, randomInt } from 'node:crypto';

let pool = randomBytes(1 << 20);

/** `size` bytes of random payload (a view: do not modify). */
export function payload(size: number): Buffer {
  if (size > pool.length) pool = randomBytes(Math.min(1 << 24, 2 ** Math.ceil(Math.log2(size))));
  const len = Math.min(size, pool.length);
  const offset = len === pool.length ? 0 : randomInt(0, pool.length - len + 1);
  return pool.subarray(offset, offset + len);
}
