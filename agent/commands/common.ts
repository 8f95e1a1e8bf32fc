// What `status` and `doctor` both read: identity, configuration and the collector URL, each of which may be
// missing or broken on a machine someone is trying to fix, so nothing here throws.
import { getOnce, type HttpResponse } from '../net/http-client.ts';
import type { AgentConfig } from '../../protocol/agent-config.ts';
import { loadAgentConfig } from '../config.ts';
import { loadIdentity, type Identity } from '../identity/identity.ts';
import { dataFiles } from '../platform/paths.ts';

export interface AgentSetup {
  identity?: Identity;
  identityProblem?: string;
  config?: AgentConfig;
  configProblem?: string;
  /** Config file, then SONGCHECK_COLLECTOR_URL, then the identity: the URL `run` would use. */
  collectorUrl?: string;
}

export function readSetup(dataDir: string, configFile: string | undefined, env: NodeJS.ProcessEnv): AgentSetup {
  const out: AgentSetup = {};
  try {
    out.identity = loadIdentity(dataDir);
  } catch (err) {
    out.identityProblem = (err as Error).message;
  }
  try {
    out.config = loadAgentConfig(configFile, dataFiles(dataDir).config);
  } catch (err) {
    out.configProblem = (err as Error).message;
  }
  const fromEnv = env.SONGCHECK_COLLECTOR_URL && URL.canParse(env.SONGCHECK_COLLECTOR_URL) ? env.SONGCHECK_COLLECTOR_URL : undefined;
  out.collectorUrl = out.config?.collectorUrl ?? fromEnv ?? out.identity?.collectorUrl;
  return out;
}

export interface HealthProbe {
  reachable: boolean;
  status?: number;
  latencyMs?: number;
  /** The collector's clock from its Date header, and our clock half-way through the request. */
  serverDate?: number;
  localMidpoint?: number;
  collectorVersion?: string;
  error?: string;
}

/** GET <collector>/healthz with a short time limit; never throws. */
export async function probeCollector(collectorUrl: string, timeoutMs: number, now: () => number = Date.now): Promise<HealthProbe> {
  const start = now();
  let res: HttpResponse;
  try {
    res = await getOnce(new URL('/healthz', collectorUrl), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    return { reachable: false, error: e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${timeoutMs / 1000} s` : (e.code ?? e.message ?? String(err)) };
  }
  const end = now();
  const date = Date.parse(res.header('date') ?? '');
  let collectorVersion: string | undefined;
  try {
    const v = (JSON.parse(res.text) as { version?: unknown }).version;
    if (typeof v === 'string') collectorVersion = v;
  } catch {
    // a proxy's page: no version
  }
  return {
    reachable: res.status === 200 || res.status === 503,
    status: res.status,
    latencyMs: end - start,
    ...(Number.isFinite(date) && { serverDate: date, localMidpoint: (start + end) / 2 }),
    ...(collectorVersion && { collectorVersion }),
    ...(res.status !== 200 && res.status !== 503 && { error: `answered HTTP ${res.status}` }),
  };
}
