// Agent results for the compliance tests, in the wire format of protocol/results.ts, so the tests send
// them through the collector's real measurement route instead of hand-built line protocol.
let serial = 0;
const id = (prefix: string) => `${prefix}-${(++serial).toString(36).padStart(8, '0')}`;

export const vn = (local: string) => Date.parse(`${local}+07:00`);

export function throughput(at: number, direction: 'download' | 'upload', mbps: number, target = 'http://collector.test:8080', extra: Record<string, unknown> = {}) {
  return {
    id: id('tp'),
    probe: 'throughput',
    method: 'ndt7',
    direction,
    target,
    measuredAt: at,
    code: 'ok',
    fields: { mbps, bytes: 1_000_000, budget_bytes: 2_100_000, duration_ms: 8000, warmup_ms: 1000, streams: 1, server: 'collector.test:8080', stopped_early: true, stop_reason: 'stable', byte_cap: 40_000_000, ...extra },
  };
}

export function tcp(at: number, rttMs: number, opts: { lossPct?: number; jitterMs?: number; lanBottleneck?: boolean } = {}) {
  const loss = opts.lossPct ?? 0;
  return {
    id: id('tcp'),
    probe: 'tcp',
    target: 'collector.test:443',
    measuredAt: at,
    code: loss > 0 ? 'partial' : 'ok',
    fields: { sent: 10, received: 10 - loss / 10, loss_pct: loss, rtt_median_ms: rttMs, jitter_ms: opts.jitterMs ?? 5, ...(opts.lanBottleneck ? { lan_bottleneck: true, gateway_rtt_ms: rttMs - 5 } : {}) },
  };
}

/** One 15-minute slot: `up` successful checks of `checks`, the rest link_down. */
export function slot(at: number, checks: number, up: number) {
  return {
    id: id('up'),
    probe: 'uptime',
    target: 'link',
    measuredAt: at,
    code: 'ok',
    fields: { checks, checks_up: up, checks_collector_down: 0, checks_dns_down: 0, checks_link_down: checks - up, observed_s: 900, up_s: checks === 0 ? 0 : (900 * up) / checks },
  };
}

export function outage(from: number, to: number, kind: 'link_down' | 'dns_down' | 'collector_down' = 'link_down') {
  return {
    id: id('out'),
    probe: 'outage',
    kind,
    target: 'link',
    measuredAt: from,
    code: 'ok',
    fields: { end_at: to, duration_s: (to - from) / 1000, checks_failed: Math.round((to - from) / 60_000), ended_by: 'recovered' },
  };
}

/** `n` values spread a minute apart from `start`. */
export function series<T>(start: number, n: number, make: (at: number, i: number) => T, stepMs = 60_000): T[] {
  return Array.from({ length: n }, (_, i) => make(start + i * stepMs, i));
}
