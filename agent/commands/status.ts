// `songcheck-agent status`: what a technician asks first. Reads only: the identity, the queue files (without
// the run lock), last-results.json written by the running agent, the data budget file when there is one, and
// the collector's /healthz. Safe to run while the service runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectQueue, type QueueSnapshot } from '../queue/inspect.ts';
import { formatTable } from '../status/format-result.ts';
import { readLastResults } from '../status/last-results.ts';
import { dataFiles } from '../platform/paths.ts';
import { runningAgent } from '../platform/run-lock.ts';
import { isBehind } from '../status/update-check.ts';
import { AGENT_VERSION } from '../version.ts';
import { probeCollector, readSetup, type HealthProbe } from './common.ts';

/** The throughput tests' monthly data budget ledger (agent/probes/throughput/budget.ts), when tests have run. */
const BUDGET_FILES = ['throughput-budget.json'];

export interface AgentStatus {
  agentVersion: string;
  dataDir: string;
  enrolled: boolean;
  site?: { code: string; name: string };
  deviceId?: string;
  enrolledAt?: number;
  problems: string[];
  collector: { url?: string } & Partial<HealthProbe>;
  running?: { pid: number; since: number };
  queue?: QueueSnapshot & { oldestUnsentAgeS?: number };
  lastResults: Array<{ probe: string; measuredAt: number; target: string; code: string; figures: string }>;
  lastUploadAt?: number;
  lastUploadError?: { at: number; message: string };
  /** The ledger's content, or the string "not measured yet". */
  dataBudget: unknown;
  /** Measured in a later version; "unknown" until then. */
  clockOffset: string;
  recommendedAgentVersion?: string;
  behind?: boolean;
}

export async function gatherStatus(o: { dataDir: string; configFile?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; now?: () => number }): Promise<AgentStatus> {
  const now = o.now ?? Date.now;
  const setup = readSetup(o.dataDir, o.configFile, o.env ?? process.env);
  const problems = [setup.identityProblem, setup.configProblem].filter((p): p is string => !!p);
  const last = readLastResults(o.dataDir);
  const queue = inspectQueue(dataFiles(o.dataDir).queue);
  const running = runningAgent(o.dataDir);
  const health = setup.collectorUrl ? await probeCollector(setup.collectorUrl, o.timeoutMs ?? 5000, now) : undefined;
  const recommended = last?.recommendedAgentVersion;
  const t = now();
  return {
    agentVersion: AGENT_VERSION,
    dataDir: o.dataDir,
    enrolled: !!setup.identity,
    ...(setup.identity && { site: setup.identity.site, deviceId: setup.identity.deviceId, enrolledAt: setup.identity.enrolledAt }),
    problems,
    collector: { url: setup.collectorUrl, ...health },
    ...(running && { running: { pid: running.pid, since: running.at } }),
    ...(queue && { queue: { ...queue, ...(queue.oldestMeasuredAt !== undefined && { oldestUnsentAgeS: Math.max(0, Math.round((t - queue.oldestMeasuredAt) / 1000)) }) } }),
    lastResults: Object.entries(last?.probes ?? {})
      .map(([probe, r]) => ({ probe, ...r }))
      .sort((a, b) => a.probe.localeCompare(b.probe)),
    ...(last?.lastUploadAt !== undefined && { lastUploadAt: last.lastUploadAt }),
    ...(last?.lastUploadError && { lastUploadError: last.lastUploadError }),
    dataBudget: readBudget(o.dataDir) ?? 'not measured yet',
    clockOffset: 'unknown',
    ...(recommended && { recommendedAgentVersion: recommended, behind: isBehind(AGENT_VERSION, recommended) }),
  };
}

function readBudget(dataDir: string): unknown {
  for (const name of BUDGET_FILES) {
    const file = join(dataDir, name);
    if (!existsSync(file)) continue;
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      return `unreadable (${file})`;
    }
  }
  return undefined;
}

const when = (at: number | undefined, now: number) => (at === undefined ? '-' : `${new Date(at).toISOString().replace('T', ' ').slice(0, 19)} UTC (${ago(now - at)})`);
function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 0) return 'in the future';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

export function formatStatus(s: AgentStatus, now = Date.now()): string {
  const c = s.collector;
  const collector = !c.url
    ? 'not configured'
    : c.reachable
      ? `${c.url}  reachable (HTTP ${c.status}, ${c.latencyMs} ms${c.collectorVersion ? `, collector ${c.collectorVersion}` : ''})`
      : `${c.url}  NOT reachable: ${c.error ?? 'no answer'}`;
  const q = s.queue;
  const rows: string[][] = [
    ['agent', `${s.agentVersion}${s.recommendedAgentVersion ? `  (collector recommends ${s.recommendedAgentVersion}${s.behind ? ': UPDATE NEEDED' : ''})` : ''}`],
    ['data directory', s.dataDir],
    ['site', s.site ? `${s.site.code}  ${s.site.name}` : 'NOT ENROLLED'],
    ['device', s.deviceId ? `${s.deviceId}  (enrolled ${when(s.enrolledAt, now)})` : '-'],
    ['collector', collector],
    ['running', s.running ? `yes, pid ${s.running.pid} since ${when(s.running.since, now)}` : 'no agent is running with this data directory'],
    ['queue', q ? `${q.depth} result(s), ${Math.round(q.bytes / 1024)} KiB${q.oldestUnsentAgeS !== undefined ? `, oldest unsent ${ago(q.oldestUnsentAgeS * 1000)}` : ''}${q.evictedTotal ? `, ${q.evictedTotal} evicted` : ''}` : 'empty (no queue yet)'],
    ['last delivery', s.lastUploadAt !== undefined ? when(s.lastUploadAt, now) : 'none yet'],
    ...(s.lastUploadError ? [['last upload error', `${s.lastUploadError.message} (${ago(now - s.lastUploadError.at)})`]] : []),
    ['data budget', typeof s.dataBudget === 'string' ? s.dataBudget : summariseBudget(s.dataBudget)],
    ['clock offset', s.clockOffset],
  ];
  const out = [formatTable(rows.map(([k, v]) => [`${k}:`, v!]))];
  if (s.lastResults.length > 0) {
    out.push('', formatTable([['PROBE', 'MEASURED', 'CODE', 'TARGET', 'FIGURES'], ...s.lastResults.map((r) => [r.probe, ago(now - r.measuredAt), r.code, r.target, r.figures])]));
  } else {
    out.push('', 'no results yet');
  }
  if (s.problems.length > 0) out.push('', ...s.problems.map((p) => `problem: ${p}`), "run 'songcheck-agent doctor' for what to fix");
  return out.join('\n');
}

/** One line from the budget ledger: this month's use, else the figures it has whose names say what they are. */
function summariseBudget(b: unknown): string {
  if (!b || typeof b !== 'object') return String(b);
  const l = b as { month?: unknown; usedBytes?: unknown; tests?: unknown };
  if (typeof l.month === 'string' && typeof l.usedBytes === 'number') {
    return `${(l.usedBytes / 2 ** 20).toFixed(1)} MiB used by throughput tests in ${l.month}${typeof l.tests === 'number' ? ` (${l.tests} test${l.tests === 1 ? '' : 's'})` : ''}`;
  }
  const parts = Object.entries(b as Record<string, unknown>)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string')
    .slice(0, 6)
    .map(([k, v]) => `${k} ${typeof v === 'number' && /bytes/i.test(k) ? `${(v / 2 ** 20).toFixed(1)} MiB` : String(v)}`);
  return parts.length > 0 ? parts.join(', ') : 'recorded';
}
