// Child process for the crash test in durable-queue.test.ts: appends records until killed and prints each
// id only after append() has returned, so every printed id is a record the queue promised to keep.
// Usage: node --import tsx test/support/durable-queue-crash-child.ts <dir> <tag> <segmentBytes>
import { DurableQueue } from '../../agent/queue/durable-queue.ts';

const [dir, tag, segmentBytes] = process.argv.slice(2);
if (!dir || !tag || !segmentBytes) throw new Error('usage: durable-queue-crash-child.ts <dir> <tag> <segmentBytes>');

const queue = DurableQueue.open<{ id: string; pad: string }>({ dir, maxBytes: 64 * 1024 * 1024, segmentBytes: Number(segmentBytes) });
process.stdout.write('ready\n');
// Bounded in count and time in case nobody kills us.
const deadline = Date.now() + 5_000;
for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
  const id = `${tag}-${i}`;
  queue.append({ id, pad: 'x'.repeat(300 + ((i * 37) % 700)) });
  process.stdout.write(`${id}\n`); // synchronous for pipes on Linux: printed means handed to the parent
}
queue.close();
