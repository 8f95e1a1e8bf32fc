// Bulk loader for bench datasets: line protocol built as strings and POSTed to InfluxDB's /write in large
// batches with a few requests in flight. Generating millions of points through the client's Point costs as
// much CPU as InfluxDB's own parsing on the same two cores; a bench dataset is trusted, fixed input, so the
// strings are built directly (tag values below are plain ASCII or escaped with `tagValue`). The collector's
// own path (Point, escaping, validation) is what the ingest bench measures.

/** Escapes a tag value for line protocol: backslash, comma, equals sign and space. */
export function tagValue(v: string): string {
  return v.replace(/[\\,= ]/g, (c) => `\\${c}`);
}

export interface LineWriterOptions {
  url: string;
  database: string;
  /** Lines per request (default 20 000, about 4 MB). */
  batchLines?: number;
  /** Requests in flight (default 2: one parsing while the next is sent). */
  inFlight?: number;
}

export class LineWriter {
  private lines: string[] = [];
  private readonly pending = new Set<Promise<void>>();
  private failure: Error | undefined;
  written = 0;

  constructor(private readonly opts: LineWriterOptions) {}

  /** Adds one line (ms timestamps); sends a batch when full, waiting while too many are in flight. */
  async add(line: string): Promise<void> {
    this.lines.push(line);
    if (this.lines.length >= (this.opts.batchLines ?? 20_000)) await this.send();
  }

  private async send(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.lines.length === 0) return;
    const body = this.lines.join('\n');
    const count = this.lines.length;
    this.lines = [];
    const url = `${this.opts.url}/write?db=${encodeURIComponent(this.opts.database)}&precision=ms`;
    const p = postWithRetry(url, body)
      .then(() => {
        this.written += count;
      })
      .catch((err: Error) => {
        this.failure ??= err;
      })
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
    while (this.pending.size >= (this.opts.inFlight ?? 2)) await Promise.race(this.pending);
    if (this.failure) throw this.failure;
  }

  /** Sends what is left and waits for every request; throws the first failure. */
  async flush(): Promise<number> {
    await this.send();
    await Promise.all(this.pending);
    if (this.failure) throw this.failure;
    return this.written;
  }
}

/**
 * InfluxDB answers 500 `timeout` when its write timeout (10 s) passes on a busy machine, and may have stored
 * part of the batch: writing the same points again overwrites them (same series and timestamps), so a retry
 * is safe. Up to 5 attempts, 1, 2, 4, 8 s apart.
 */
async function postWithRetry(url: string, body: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let problem: string;
    try {
      const res = await fetch(url, { method: 'POST', body });
      if (res.ok) return;
      problem = `InfluxDB /write answered ${res.status}: ${(await res.text()).slice(0, 300)}`;
      if (res.status < 500) throw new Error(problem);
    } catch (err) {
      if ((err as Error).message.startsWith('InfluxDB /write answered 4')) throw err;
      problem = (err as Error).message;
    }
    if (attempt >= 5) throw new Error(`${problem} (after ${attempt} attempts)`);
    await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
  }
}
