// The evidence log: per site and per day (the calendar's time zone, by the day the collector received the
// result), one file of append-only lines, each naming the hash of the line before it (docs/evidence.md).
// A day's head is the hash of its last line; a site's first line of a new day continues from the head of
// its previous day, so removing a whole day breaks the chain just like changing one byte.
//
//   <dir>/<site>/<YYYY-MM-DD>.log
//
// An append resolves after its write and fsync (before the collector acknowledges); appends of a site that
// arrive together share one write and fsync (group commit), and each commit holds the site's lock file, so
// requests of one process, and processes sharing the directory (SONGCHECK_WORKERS), never interleave.
import fs from 'node:fs';
import path from 'node:path';
import { encodeEvidenceLine, type EvidenceLine, genesisHash, sha256Hex } from '../../protocol/evidence.ts';
import { localParts } from '../school/zone.ts';

export type EvidenceEntry = Omit<EvidenceLine, 'prev' | 'seq'>;

interface PendingAppend {
  entries: EvidenceEntry[];
  now: number;
  resolve: (r: { date: string; seqs: number[] }) => void;
  reject: (error: unknown) => void;
}

export interface ClosedDay {
  site: string;
  date: string;
  head: string;
  entries: number;
  /** The head this day continued from (the previous day's, or the site's genesis). */
  prev: string;
}

const DATE_FILE = /^(\d{4}-\d{2}-\d{2})\.log$/;

/** About 5 s of 1 ms waits for another process's commit (each holds the lock for one write and fsync). */
const LOCK_ATTEMPTS = 5000;

function holderAlive(lock: string): boolean {
  let text: string;
  let age: number;
  try {
    text = fs.readFileSync(lock, 'utf8');
    age = Date.now() - fs.statSync(lock).mtimeMs;
  } catch {
    return true; // just released: try again
  }
  // Empty: created a moment ago and its pid not written yet — unless it has stayed empty (a crash right then).
  if (text === '') return age < 10_000;
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A site code as a directory name: registry codes are [A-Za-z0-9._-]; anything else is escaped. */
export function siteDirName(site: string): string {
  return encodeURIComponent(site).replace(/^\.+/, (dots) => '%2E'.repeat(dots.length));
}

export class EvidenceLog {
  constructor(
    readonly dir: string,
    private readonly timeZone: string,
    /** Called once for every day that has been superseded by a later one (its head is final). */
    private readonly onDayClosed: (day: ClosedDay) => void = () => {},
  ) {}

  dayOf(at: number): string {
    return localParts(at, this.timeZone).date;
  }

  siteDir(site: string): string {
    return path.join(this.dir, siteDirName(site));
  }

  dayFile(site: string, date: string): string {
    return path.join(this.siteDir(site), `${date}.log`);
  }

  /** Dates with a log file for a site, oldest first. */
  days(site: string): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.siteDir(site));
    } catch {
      return [];
    }
    return names.flatMap((n) => DATE_FILE.exec(n)?.[1] ?? []).sort();
  }

  /** Sites with a log directory. */
  sites(): string[] {
    try {
      return fs.readdirSync(this.dir).map((n) => decodeURIComponent(n)).sort();
    } catch {
      return [];
    }
  }

  /** The lines of one day, without their newlines (a torn last line is left out). */
  readDay(site: string, date: string): string[] {
    let text: string;
    try {
      text = fs.readFileSync(this.dayFile(site, date), 'utf8');
    } catch {
      return [];
    }
    const lines = text.split('\n');
    lines.pop(); // after the last '\n': empty, or a torn line that was never acknowledged
    return lines;
  }

  /** The head (hash of the last line), entries and starting hash of one day, or undefined without a file. */
  summary(site: string, date: string): ClosedDay | undefined {
    const lines = this.readDay(site, date);
    if (lines.length === 0) return undefined;
    const first = JSON.parse(lines[0]!) as EvidenceLine;
    return { site, date, head: sha256Hex(lines[lines.length - 1]!), entries: lines.length, prev: first.prev };
  }

  /**
   * Appends entries for one site, all on the day of `now`, and fsyncs. Resolves with the day and the line
   * number of each entry (1-based) once they are on disk; rejects when the disk refuses: then nothing may be
   * acknowledged.
   *
   * Group commit: appends to a site that arrive while its previous write is being synced wait for it, then go
   * to disk together in one write and one fsync (the ingest bench's profile had a fifth of the collector's
   * time in one fsync per request, blocking the event loop). Writes and syncs are asynchronous, so requests
   * of other sites go on meanwhile.
   *
   * Several collector processes may share the directory (SONGCHECK_WORKERS): each commit holds the site's
   * lock file and reads the chain's head from disk, never from memory, so the chain stays one sequence.
   */
  append(site: string, entries: EvidenceEntry[], now: number): Promise<{ date: string; seqs: number[] }> {
    if (entries.length === 0) return Promise.resolve({ date: this.dayOf(now), seqs: [] });
    return new Promise((resolve, reject) => {
      const waiting = this.waiting.get(site);
      if (waiting) waiting.push({ entries, now, resolve, reject });
      else this.waiting.set(site, [{ entries, now, resolve, reject }]);
      if (!this.committing.has(site)) void this.commitLoop(site);
    });
  }

  private readonly waiting = new Map<string, PendingAppend[]>();
  private readonly committing = new Set<string>();

  /** Commits a site's waiting appends, group by group, until none is left. */
  private async commitLoop(site: string): Promise<void> {
    this.committing.add(site);
    try {
      for (let group = this.waiting.get(site); group; group = this.waiting.get(site)) {
        this.waiting.delete(site);
        try {
          await this.commit(site, group);
        } catch (error) {
          for (const a of group) a.reject(error);
        }
      }
    } finally {
      this.committing.delete(site);
    }
  }

  /** One lock, one write and one fsync for a group of appends (split only where the day changes). */
  private async commit(site: string, group: PendingAppend[]): Promise<void> {
    fs.mkdirSync(this.siteDir(site), { recursive: true, mode: 0o700 });
    const release = await this.lock(site);
    const closed: ClosedDay[] = [];
    try {
      for (let i = 0; i < group.length; ) {
        const today = this.dayOf(group[i]!.now);
        let j = i + 1;
        while (j < group.length && this.dayOf(group[j]!.now) === today) j++;
        const run = group.slice(i, j);
        i = j;
        let date = today;
        let tail = this.tail(site, date);
        let prevDay: ClosedDay | undefined;
        if (!tail) {
          // A new day for this site (or the clock went back across midnight: then keep the newest day).
          const days = this.days(site);
          const latest = days[days.length - 1];
          if (latest && latest > date) {
            date = latest;
            tail = this.tail(site, date);
          } else if (latest) prevDay = this.summary(site, latest);
        }
        let head = tail?.head ?? prevDay?.head ?? genesisHash(site);
        let seq = tail?.seq ?? 0;
        const seqsOf: number[][] = [];
        let text = '';
        for (const a of run) {
          const seqs: number[] = [];
          for (const e of a.entries) {
            seq++;
            const line = encodeEvidenceLine({ ...e, prev: head, seq });
            head = sha256Hex(line);
            text += `${line}\n`;
            seqs.push(seq);
          }
          seqsOf.push(seqs);
        }
        const file = await fs.promises.open(this.dayFile(site, date), 'a', 0o600);
        try {
          await file.write(text);
          await file.sync();
        } finally {
          await file.close();
        }
        // The previous day is final once a later one has begun (recording it twice is harmless).
        if (prevDay) closed.push(prevDay);
        run.forEach((a, k) => a.resolve({ date, seqs: seqsOf[k]! }));
      }
    } finally {
      release();
    }
    for (const day of closed) this.onDayClosed(day);
  }

  /** The last line's hash and sequence number of a day file, cutting off a torn (never acknowledged) line. */
  private tail(site: string, date: string): { head: string; seq: number } | undefined {
    const file = this.dayFile(site, date);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r+');
    } catch {
      return undefined;
    }
    try {
      const size = fs.fstatSync(fd).size;
      // A line is well under 64 KiB (a signed payload is at most 16 KiB, escaped at most ×6 … plenty in practice).
      const span = Math.min(size, 256 * 1024);
      const buf = Buffer.alloc(span);
      fs.readSync(fd, buf, 0, span, size - span);
      let end = buf.lastIndexOf(0x0a) + 1;
      // Bytes after the last newline were being written when a process stopped; they were never acknowledged.
      if (end < span) fs.ftruncateSync(fd, size - span + end);
      if (end === 0) return undefined;
      const start = buf.lastIndexOf(0x0a, end - 2) + 1;
      const line = buf.subarray(start, end - 1).toString('utf8');
      return { head: sha256Hex(line), seq: (JSON.parse(line) as EvidenceLine).seq };
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Takes `<site>/.lock` (created exclusively; a lock left by a dead process is taken over); returns its release. */
  private async lock(site: string): Promise<() => void> {
    const lock = path.join(this.siteDir(site), '.lock');
    for (let attempt = 0; ; attempt++) {
      try {
        fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
        return () => fs.rmSync(lock, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (attempt >= LOCK_ATTEMPTS) throw new Error(`evidence log of ${site} is locked by another process (${lock})`);
        if (!holderAlive(lock)) fs.rmSync(lock, { force: true });
        else await new Promise((r) => setTimeout(r, 1));
      }
    }
  }

  /**
   * Closes every day before `today` whose site has had no later append (a quiet site's last day), so its
   * head can be recorded. `isRecorded` skips days already recorded. Returns the days closed.
   */
  async closeQuietDays(now: number, isRecorded: (site: string, date: string) => boolean | Promise<boolean>): Promise<ClosedDay[]> {
    const today = this.dayOf(now);
    const closed: ClosedDay[] = [];
    for (const site of this.sites()) {
      for (const date of this.days(site)) {
        if (date >= today || (await isRecorded(site, date))) continue;
        const day = this.summary(site, date);
        if (!day) continue;
        this.onDayClosed(day);
        closed.push(day);
      }
    }
    return closed;
  }

  /** Deletes day files older than `keepDays` days before `now` (their recorded heads stay). */
  prune(now: number, keepDays: number): number {
    const cutoff = this.dayOf(now - keepDays * 86_400_000);
    let removed = 0;
    for (const site of this.sites()) {
      for (const date of this.days(site)) {
        if (date >= cutoff) continue;
        fs.rmSync(this.dayFile(site, date), { force: true });
        removed++;
      }
    }
    return removed;
  }

}
