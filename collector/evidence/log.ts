// The evidence log: per site and per day (the calendar's time zone, by the day the collector received the
// result), one file of append-only lines, each naming the hash of the line before it (docs/evidence.md).
// A day's head is the hash of its last line; a site's first line of a new day continues from the head of
// its previous day, so removing a whole day breaks the chain just like changing one byte.
//
//   <dir>/<site>/<YYYY-MM-DD>.log
//
// Appends are synchronous (write + fsync before the collector acknowledges), so two requests for one site
// can never interleave inside this process. One collector process writes a data directory's log.
import fs from 'node:fs';
import path from 'node:path';
import { encodeEvidenceLine, type EvidenceLine, genesisHash, sha256Hex } from '../../protocol/evidence.ts';
import { localParts } from '../school/zone.ts';

export type EvidenceEntry = Omit<EvidenceLine, 'prev' | 'seq'>;

export interface ClosedDay {
  site: string;
  date: string;
  head: string;
  entries: number;
  /** The head this day continued from (the previous day's, or the site's genesis). */
  prev: string;
}

interface SiteHead {
  date: string;
  head: string;
  seq: number;
  /** The prev of the day's first line. */
  dayPrev: string;
}

const DATE_FILE = /^(\d{4}-\d{2}-\d{2})\.log$/;

/** A site code as a directory name: registry codes are [A-Za-z0-9._-]; anything else is escaped. */
export function siteDirName(site: string): string {
  return encodeURIComponent(site).replace(/^\.+/, (dots) => '%2E'.repeat(dots.length));
}

export class EvidenceLog {
  private readonly heads = new Map<string, SiteHead>();

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
   * Appends entries for one site, all on the day of `now`, and fsyncs. Returns the day and the line number
   * of each entry (1-based). Throws when the disk refuses: then nothing may be acknowledged.
   */
  append(site: string, entries: EvidenceEntry[], now: number): { date: string; seqs: number[] } {
    let date = this.dayOf(now);
    if (entries.length === 0) return { date, seqs: [] };
    let state = this.heads.get(site) ?? this.recover(site);
    // The clock went back across midnight: keep appending to the newest day so the chain stays in order.
    if (state && date < state.date) date = state.date;
    if (state && date > state.date) {
      this.onDayClosed({ site, date: state.date, head: state.head, entries: state.seq, prev: state.dayPrev });
      state = { date, head: state.head, seq: 0, dayPrev: state.head };
    }
    state ??= { date, head: genesisHash(site), seq: 0, dayPrev: genesisHash(site) };
    let head = state.head;
    let seq = state.seq;
    const seqs: number[] = [];
    let text = '';
    for (const e of entries) {
      seq++;
      const line = encodeEvidenceLine({ ...e, prev: head, seq });
      head = sha256Hex(line);
      text += `${line}\n`;
      seqs.push(seq);
    }
    fs.mkdirSync(this.siteDir(site), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(this.dayFile(site, date), 'a', 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.heads.set(site, { date, head, seq, dayPrev: state.dayPrev });
    return { date, seqs };
  }

  /**
   * Closes every day before `today` whose site has had no later append (a quiet site's last day), so its
   * head can be recorded. `isRecorded` skips days already recorded. Returns the days closed.
   */
  closeQuietDays(now: number, isRecorded: (site: string, date: string) => boolean): ClosedDay[] {
    const today = this.dayOf(now);
    const closed: ClosedDay[] = [];
    for (const site of this.sites()) {
      for (const date of this.days(site)) {
        if (date >= today || isRecorded(site, date)) continue;
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

  /** Finds a site's head on disk (first append of this process), cutting off a torn last line. */
  private recover(site: string): SiteHead | undefined {
    const days = this.days(site);
    const date = days[days.length - 1];
    if (!date) return undefined;
    const file = this.dayFile(site, date);
    const text = fs.readFileSync(file, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    // A line without its newline was being written when the process stopped; it was never acknowledged.
    if (end < Buffer.byteLength(text)) fs.truncateSync(file, Buffer.byteLength(text.slice(0, end)));
    const lines = text.slice(0, end).split('\n');
    lines.pop();
    if (lines.length === 0) {
      fs.rmSync(file, { force: true });
      return this.recover(site);
    }
    const first = JSON.parse(lines[0]!) as EvidenceLine;
    const state = { date, head: sha256Hex(lines[lines.length - 1]!), seq: lines.length, dayPrev: first.prev };
    this.heads.set(site, state);
    return state;
  }
}
