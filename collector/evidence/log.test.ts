import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { genesisHash, sha256Hex } from '../../protocol/evidence.ts';
import { localTime } from '../school/zone.ts';
import { type ClosedDay, EvidenceLog } from './log.ts';

const TZ = 'Asia/Ho_Chi_Minh';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-evlog-'));
  dirs.push(d);
  return d;
};
const entry = (n: number) => ({ at: n, device: 'dev_1', unsigned: `{"n":${n}}`, agentVersion: '0.1.0' });

describe('evidence log', () => {
  it('chains lines within a day and across days, closing each day once with its head', async () => {
    const closed: ClosedDay[] = [];
    const log = new EvidenceLog(tmp(), TZ, (d) => closed.push(d));
    const day1 = localTime('2026-11-02', 23 * 60 + 30, TZ);
    expect(await log.append('LC-1', [entry(1), entry(2)], day1)).toEqual({ date: '2026-11-02', seqs: [1, 2] });
    await log.append('LC-1', [entry(3)], localTime('2026-11-03', 8 * 60, TZ));
    const d1 = log.readDay('LC-1', '2026-11-02');
    const d2 = log.readDay('LC-1', '2026-11-03');
    expect(JSON.parse(d1[0]!).prev).toBe(genesisHash('LC-1'));
    expect(JSON.parse(d1[1]!).prev).toBe(sha256Hex(d1[0]!));
    expect(JSON.parse(d2[0]!)).toMatchObject({ prev: sha256Hex(d1[1]!), seq: 1 });
    expect(closed).toEqual([{ site: 'LC-1', date: '2026-11-02', head: sha256Hex(d1[1]!), entries: 2, prev: genesisHash('LC-1') }]);
  });

  it('a new process continues the chain from disk and cuts a torn, never acknowledged last line', async () => {
    const dir = tmp();
    const at = localTime('2026-11-02', 9 * 60, TZ);
    await new EvidenceLog(dir, TZ).append('LC-1', [entry(1)], at);
    fs.appendFileSync(path.join(dir, 'LC-1', '2026-11-02.log'), '{"prev":"torn');
    await new EvidenceLog(dir, TZ).append('LC-1', [entry(2)], at);
    const lines = new EvidenceLog(dir, TZ).readDay('LC-1', '2026-11-02');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toMatchObject({ prev: sha256Hex(lines[0]!), seq: 2 });
  });

  it('keeps appending to the newest day when the clock goes back across midnight, and prunes old days', async () => {
    const log = new EvidenceLog(tmp(), TZ);
    await log.append('LC-1', [entry(1)], localTime('2026-11-03', 1, TZ));
    expect((await log.append('LC-1', [entry(2)], localTime('2026-11-02', 23 * 60, TZ))).date).toBe('2026-11-03');
    await log.append('LC-2', [entry(3)], localTime('2026-10-01', 600, TZ));
    expect(log.prune(localTime('2026-11-03', 600, TZ), 30)).toBe(1);
    expect(log.days('LC-2')).toEqual([]);
    expect(log.days('LC-1')).toEqual(['2026-11-03']);
  });

  it('concurrent appends to one site share commits, keep one chain, and each learns its own line numbers', async () => {
    const log = new EvidenceLog(tmp(), TZ);
    const at = localTime('2026-11-02', 9 * 60, TZ);
    const batches = Array.from({ length: 120 }, (_, b) => [entry(b * 10), entry(b * 10 + 1), entry(b * 10 + 2)]);
    const acks = await Promise.all(batches.map((b) => log.append('LC-1', b, at)));
    const lines = log.readDay('LC-1', '2026-11-02');
    expect(lines).toHaveLength(360);
    let prev = genesisHash('LC-1');
    lines.forEach((line, i) => {
      expect(JSON.parse(line)).toMatchObject({ prev, seq: i + 1 });
      prev = sha256Hex(line);
    });
    // Each append's line numbers name its own entries, in its order.
    acks.forEach((ack, b) => {
      expect(ack.date).toBe('2026-11-02');
      expect(ack.seqs.map((seq) => JSON.parse(lines[seq - 1]!).at)).toEqual([b * 10, b * 10 + 1, b * 10 + 2]);
    });
  });

  it('a commit the disk refuses rejects every append waiting in it, and the next commit goes on from disk', async () => {
    const dir = tmp();
    const log = new EvidenceLog(dir, TZ);
    const at = localTime('2026-11-02', 9 * 60, TZ);
    await log.append('LC-1', [entry(1)], at);
    // The day file replaced by a directory: open() fails as a full or read-only disk would.
    const file = path.join(dir, 'LC-1', '2026-11-02.log');
    const kept = fs.readFileSync(file);
    fs.rmSync(file);
    fs.mkdirSync(file);
    const refused = await Promise.allSettled([log.append('LC-1', [entry(2)], at), log.append('LC-1', [entry(3)], at), log.append('LC-1', [entry(4)], at)]);
    expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    fs.rmSync(file, { recursive: true });
    fs.writeFileSync(file, kept);
    expect(await log.append('LC-1', [entry(5)], at)).toEqual({ date: '2026-11-02', seqs: [2] });
    expect(fs.existsSync(path.join(dir, 'LC-1', '.lock'))).toBe(false);
  });

  it('keeps one chain when several processes append to the same site at once (SONGCHECK_WORKERS)', async () => {
    const dir = tmp();
    const child = fileURLToPath(new URL('../../test/support/evidence-log-writer-child.ts', import.meta.url));
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const run = (name: string) =>
      new Promise<number | null>((resolve) => {
        const p = spawn(process.execPath, ['--import', 'tsx', child, dir, 'LC-1', '150', name], { cwd: root, stdio: 'ignore' });
        p.on('exit', resolve);
      });
    expect(await Promise.all([run('dev_a'), run('dev_b'), run('dev_c')])).toEqual([0, 0, 0]);
    const lines = new EvidenceLog(dir, TZ).readDay('LC-1', '2026-11-24');
    expect(lines).toHaveLength(3 * 150 * 3);
    let prev = genesisHash('LC-1');
    lines.forEach((line, i) => {
      expect(JSON.parse(line)).toMatchObject({ prev, seq: i + 1 });
      prev = sha256Hex(line);
    });
    // Each batch stays together: a process's 3 entries are never split by another's.
    for (let i = 0; i < lines.length; i += 3) expect(new Set(lines.slice(i, i + 3).map((l) => JSON.parse(l).device)).size).toBe(1);
    expect(fs.existsSync(path.join(dir, 'LC-1', '.lock'))).toBe(false);
  }, 60_000);
});
