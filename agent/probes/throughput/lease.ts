// Site arbitration from the agent's side: before a throughput test, ask the collector for the site's lease
// (POST /api/v1/throughput/lease); when another device of the site holds it, wait as told and ask again,
// within a bounded time. The lease is released when the test ends, and expires by itself otherwise.
import { API_PREFIX } from '../../../protocol/api.ts';
import { LeaseResponse } from '../../../protocol/throughput.ts';
import { postJson } from '../../net/http-client.ts';
import { sleep } from '../../platform/abortable-sleep.ts';

export type LeaseOutcome = { leaseId: string } | { busy: true; waitedMs: number } | { error: string };

export async function acquireSiteLease(base: string, token: string, durationS: number, maxWaitMs: number, signal: AbortSignal): Promise<LeaseOutcome> {
  const started = performance.now();
  const url = new URL(`${API_PREFIX}/throughput/lease`, base);
  for (let attempt = 0; attempt < 30 && !signal.aborted; attempt++) {
    let parsed;
    try {
      const res = await postJson(url, JSON.stringify({ durationS }), { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) });
      if (res.status !== 200) return { error: `lease request answered HTTP ${res.status}` };
      parsed = LeaseResponse.safeParse(JSON.parse(res.text));
    } catch (err) {
      return { error: `lease request failed: ${(err as Error).message}` };
    }
    if (!parsed.success) return { error: 'lease answer not understood' };
    if (parsed.data.granted) return { leaseId: parsed.data.leaseId };
    const waited = performance.now() - started;
    const wait = Math.min(parsed.data.retryAfterS * 1000 + Math.random() * 2_000, maxWaitMs - waited);
    if (wait <= 0) return { busy: true, waitedMs: waited };
    await sleep(wait, signal);
  }
  return { busy: true, waitedMs: performance.now() - started };
}

export async function releaseSiteLease(base: string, token: string, leaseId: string): Promise<void> {
  const url = new URL(`${API_PREFIX}/throughput/lease/${encodeURIComponent(leaseId)}/release`, base);
  try {
    await postJson(url, '{}', { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) });
  } catch {
    // It expires by itself.
  }
}
