// One connectivity check (docs/uptime.md): a TCP connection to the collector, to the outside targets, and a
// DNS lookup through the system resolver, all at once, each bounded by a short timeout. It reuses the TCP
// probe's handshake and the probes' OS-resolver lookup, so a check and a tcp result mean the same thing.
import type { CheckState } from '../../protocol/results.ts';
import { connectOnce } from '../probes/tcp-connect.ts';
import { resolveHost } from '../probes/resolve.ts';
import { parseHostPort, type HostPort } from '../../protocol/host-port.ts';

export interface CheckTargets {
  /** The collector's host and port; absent when the agent has no collector URL (it then never answers). */
  collector?: HostPort;
  /** "host:port" targets outside the province; any one answering is enough. IP literals need no DNS. */
  outside: string[];
  /** Looked up through the system resolver; absent: the DNS sub-check is skipped (counts as resolving). */
  dnsName?: string;
  timeoutMs: number;
}

export interface CheckOutcome {
  state: CheckState;
  collector: boolean;
  outside: boolean;
  dns: boolean;
  /** What failed, for the log: "collector: timeout; dns: ..." */
  detail?: string;
}

/** Decides the check's state from its three sub-checks, in the order docs/uptime.md's table gives. */
export function checkState(collector: boolean, outside: boolean, dns: boolean): CheckState {
  if (!collector && !outside) return 'link_down';
  if (!dns) return 'dns_down';
  return collector ? 'up' : 'collector_down';
}

type SubCheck = { ok: true } | { ok: false; why: string };

async function reach(target: HostPort, timeoutMs: number, signal: AbortSignal): Promise<SubCheck> {
  const resolved = await resolveHost(target.host, timeoutMs, signal);
  if (!('address' in resolved)) return { ok: false, why: resolved.detail };
  const o = await connectOnce(resolved.address, target.port, timeoutMs, signal);
  if (o.ok) return { ok: true };
  return { ok: false, why: 'aborted' in o ? 'aborted' : `${o.code}: ${o.detail}` };
}

async function anyReached(targets: string[], timeoutMs: number, signal: AbortSignal): Promise<SubCheck> {
  const parsed = targets.map(parseHostPort).filter((t): t is HostPort => !('error' in t));
  if (parsed.length === 0) return { ok: false, why: 'no outside target configured' };
  const all = await Promise.all(parsed.map((t) => reach(t, timeoutMs, signal)));
  const failed = all.filter((r): r is { ok: false; why: string } => !r.ok);
  return failed.length < all.length ? { ok: true } : { ok: false, why: failed.map((f) => f.why).join(' | ') };
}

async function resolves(name: string | undefined, timeoutMs: number, signal: AbortSignal): Promise<SubCheck> {
  if (!name) return { ok: true };
  const r = await resolveHost(name, timeoutMs, signal);
  return 'address' in r ? { ok: true } : { ok: false, why: r.detail };
}

/** Never throws and never takes much longer than targets.timeoutMs (twice: a lookup, then a connect). */
export async function checkConnectivity(targets: CheckTargets, signal: AbortSignal): Promise<CheckOutcome> {
  const t = targets.timeoutMs;
  const none = (why: string): Promise<SubCheck> => Promise.resolve({ ok: false, why });
  const [collector, outside, dns] = await Promise.all([
    targets.collector ? reach(targets.collector, t, signal).catch((e: unknown) => ({ ok: false as const, why: String(e) })) : none('no collector URL'),
    anyReached(targets.outside, t, signal).catch((e: unknown) => ({ ok: false as const, why: String(e) })),
    resolves(targets.dnsName, t, signal).catch((e: unknown) => ({ ok: false as const, why: String(e) })),
  ]);
  const detail = [
    collector.ok ? '' : `collector: ${collector.why}`,
    outside.ok ? '' : `outside: ${outside.why}`,
    dns.ok ? '' : `dns: ${dns.why}`,
  ].filter(Boolean);
  return {
    state: checkState(collector.ok, outside.ok, dns.ok),
    collector: collector.ok,
    outside: outside.ok,
    dns: dns.ok,
    ...(detail.length ? { detail: detail.join('; ').slice(0, 500) } : {}),
  };
}
