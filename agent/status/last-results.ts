// <data dir>/last-results.json: what `songcheck-agent status` shows about a running agent, written by the
// agent itself (atomically) when a result is queued or an upload ends. `status` only reads it, so it never
// needs the run lock and never touches the queue.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Result } from '../../protocol/results.ts';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { formatFigures } from './format-result.ts';

export const LAST_RESULTS_FILE = 'last-results.json';

const LastResult = z.object({ measuredAt: z.number(), target: z.string(), code: z.string(), figures: z.string() });

export const LastResults = z.object({
  version: z.literal(1),
  agentVersion: z.string(),
  pid: z.number().int(),
  startedAt: z.number(),
  updatedAt: z.number(),
  /** Last probe result per probe name (agent_health and device_facts included). */
  probes: z.record(z.string(), LastResult),
  lastUploadAt: z.number().optional(),
  lastUploadError: z.object({ at: z.number(), message: z.string() }).optional(),
  /** From the collector's last acknowledgement, when it announces one. */
  recommendedAgentVersion: z.string().optional(),
});
export type LastResults = z.infer<typeof LastResults>;

export function readLastResults(dataDir: string): LastResults | undefined {
  try {
    const parsed = LastResults.safeParse(JSON.parse(readFileSync(join(dataDir, LAST_RESULTS_FILE), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Kept in memory and rewritten whole on each change: a few hundred bytes, a few times per probe interval.
 * A failed write is reported to the caller's logger once and never stops the agent.
 */
export class LastResultsWriter {
  private state: LastResults;
  private failedOnce = false;

  constructor(
    private readonly dataDir: string,
    agentVersion: string,
    private readonly now: () => number,
    private readonly onError: (err: unknown) => void,
  ) {
    const t = now();
    this.state = { version: 1, agentVersion, pid: process.pid, startedAt: t, updatedAt: t, probes: {} };
    // Keep what the previous run knew (its last results are still the latest there are).
    const previous = readLastResults(dataDir);
    if (previous) this.state = { ...this.state, probes: previous.probes, lastUploadAt: previous.lastUploadAt, recommendedAgentVersion: previous.recommendedAgentVersion };
  }

  get recommendedAgentVersion(): string | undefined {
    return this.state.recommendedAgentVersion;
  }

  result(r: Result): void {
    this.state.probes[r.probe] = { measuredAt: r.measuredAt, target: r.target, code: r.code, figures: safeFigures(r) };
    this.flush();
  }

  uploaded(recommendedAgentVersion: string | undefined): void {
    this.state.lastUploadAt = this.now();
    delete this.state.lastUploadError;
    if (recommendedAgentVersion) this.state.recommendedAgentVersion = recommendedAgentVersion;
    this.flush();
  }

  uploadFailed(message: string): void {
    this.state.lastUploadError = { at: this.now(), message: message.slice(0, 300) };
    this.flush();
  }

  flush(): void {
    this.state.updatedAt = this.now();
    try {
      writeFileAtomic(join(this.dataDir, LAST_RESULTS_FILE), JSON.stringify(this.state) + '\n', 0o600);
    } catch (err) {
      if (!this.failedOnce) this.onError(err);
      this.failedOnce = true;
    }
  }
}

function safeFigures(r: Result): string {
  try {
    return formatFigures(r).slice(0, 200);
  } catch {
    return '';
  }
}
