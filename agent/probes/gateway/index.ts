// Probe `gateway`: the path to the router. TCP-handshake round trips and loss to the default gateway (a RST
// counts as an answer, so no service needs to listen; no privileges), beside the local link: wired, Wi-Fi or
// cellular, link rate and Wi-Fi signal where the OS tells them. Its latest look is kept for the other probes
// (a latency run says whether the router alone took most of its round trip). docs/throughput.md.
import { GatewayOptions } from '../../../protocol/probe-options/gateway.ts';
import type { GatewayFields } from '../../../protocol/results.ts';
import { guarded, makeResult } from '../result.ts';
import type { Probe } from '../types.ts';
import { type LanObservation, observeLan } from '../lan/observation.ts';


const EMPTY: GatewayFields = { sent: 0, received: 0, loss_pct: 0, lan_medium: 'unknown' };

export function gatewayFields(o: LanObservation): GatewayFields {
  const l = o.link;
  return {
    ...o.idle,
    lan_medium: l.medium,
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(l.linkMbps !== undefined ? { link_mbps: l.linkMbps } : {}),
    ...(l.rxLinkMbps !== undefined ? { link_rx_mbps: l.rxLinkMbps } : {}),
    ...(l.wifiSignalDbm !== undefined ? { wifi_signal_dbm: l.wifiSignalDbm } : {}),
  };
}

export const gatewayProbe: Probe<GatewayOptions> = {
  name: 'gateway',
  description: 'Round trips and loss to the default gateway (TCP handshakes, no privileges) and the local link: wired or Wi-Fi, link rate, signal',

  defaultTargets() {
    return ['gateway'];
  },

  run(target, rawOptions, ctx) {
    return guarded('gateway', target, ctx, EMPTY, async (measuredAt) => {
      const options = GatewayOptions.parse(rawOptions);
      const obs = await observeLan(ctx.signal, { count: options.count, intervalMs: options.intervalMs, timeoutMs: options.timeoutMs, ports: options.ports, now: ctx.now });
      if (!obs) return makeResult('gateway', target, measuredAt, 'unavailable', EMPTY, 'no default route, or this OS does not tell the gateway');
      const fields = gatewayFields(obs);
      const code = fields.received === 0 ? 'timeout' : fields.received < fields.sent ? 'partial' : 'ok';
      const detail = obs.port === undefined ? `the router ${obs.link.gateway} answered on none of ports ${options.ports.join(', ')}` : `router ${obs.link.gateway} port ${obs.port}`;
      return makeResult('gateway', target, measuredAt, code, fields, detail);
    });
  },
};
