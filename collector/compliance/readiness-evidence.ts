// Assembles one site's throughput rows into tests (a download and the upload the same device ran right
// after it) with the TCP-connect latency runs around them, and grades each test's readiness.
import { type Readiness, type ReadinessConfig, readinessOf, type TestFigures } from './readiness.ts';

/** One unflagged `throughput` row (code ok, the in-province server). */
export interface TestRow {
  at: number;
  device: string;
  direction: 'download' | 'upload';
  mbps: number;
  idleRttMs?: number | undefined;
  loadedRttMs?: number | undefined;
}

/** One TCP-connect latency run of the site. */
export interface LatencyRun {
  at: number;
  rttMs?: number;
  jitterMs?: number;
  lossPct?: number;
}

export interface ReadinessTest {
  /** The download's timestamp (or the upload's, for a test without a download). */
  at: number;
  device: string;
  figures: TestFigures;
  readiness: Readiness;
}

/** The agent runs the upload right after the download; a gap longer than this is another test. */
export const PAIR_WINDOW_MS = 180_000;
/** Jitter and loss come from the site's TCP-connect runs this close to the test (the default runs every 5 min). */
export const LATENCY_WINDOW_MS = 30 * 60_000;

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export function readinessTests(config: ReadinessConfig, rows: TestRow[], runs: LatencyRun[]): ReadinessTest[] {
  const sorted = [...rows].sort((a, b) => a.at - b.at);
  const used = new Set<TestRow>();
  const tests: ReadinessTest[] = [];
  for (const row of sorted) {
    if (used.has(row)) continue;
    used.add(row);
    let down: TestRow | undefined;
    let up: TestRow | undefined;
    if (row.direction === 'download') {
      down = row;
      up = sorted.find((r) => !used.has(r) && r.device === row.device && r.direction === 'upload' && r.at > row.at && r.at - row.at <= PAIR_WINDOW_MS);
      if (up) used.add(up);
    } else up = row;
    const near = runs.filter((r) => Math.abs(r.at - row.at) <= LATENCY_WINDOW_MS);
    const loaded = [down?.loadedRttMs, up?.loadedRttMs].filter((x): x is number => x !== undefined);
    const idle = down?.idleRttMs ?? up?.idleRttMs ?? median(near.flatMap((r) => (r.rttMs !== undefined ? [r.rttMs] : [])));
    const jitter = median(near.flatMap((r) => (r.jitterMs !== undefined ? [r.jitterMs] : [])));
    const loss = median(near.flatMap((r) => (r.lossPct !== undefined ? [r.lossPct] : [])));
    const figures: TestFigures = {
      ...(down ? { downMbps: down.mbps } : {}),
      ...(up ? { upMbps: up.mbps } : {}),
      ...(idle !== undefined ? { idleRttMs: idle } : {}),
      ...(loaded.length ? { loadedRttMs: Math.max(...loaded) } : {}),
      ...(jitter !== undefined ? { jitterMs: jitter } : {}),
      ...(loss !== undefined ? { lossPct: loss } : {}),
    };
    tests.push({ at: row.at, device: row.device, figures, readiness: readinessOf(config, figures) });
  }
  return tests;
}
