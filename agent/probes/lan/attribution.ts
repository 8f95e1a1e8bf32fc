// Was the school's own network (the PC's Wi-Fi or cable to the router) the likely bottleneck of a test?
// Pure rules over what the agent saw; each rule that fires gives a short reason that verdicts and dashboards
// show ("Wi-Fi link rate 6 Mbit/s at the time"). Thresholds are documented in docs/throughput.md.
import type { LocalLink } from '../../net/local-link.ts';

export const LAN_RULES = {
  /** TCP goodput over Wi-Fi rarely passes about 60 % of the PHY rate: at half of it the Wi-Fi is the limit. */
  wifiRateShare: 0.5,
  /** A wired link carries about 94 % of its rate as TCP goodput: at 80 % it is the limit. */
  wiredRateShare: 0.8,
  /** Under load, the router's round trip rose at least this much (ms) ... */
  gatewayRiseMs: 20,
  /** ... and by at least this share of the test server's rise: the queue is between the PC and the router. */
  gatewayRiseShare: 0.5,
  /** Idle: the router alone takes this much (ms) and this share of the round trip to the server. */
  gatewayIdleMs: 20,
  gatewayIdleShare: 0.5,
};

export interface LanVerdict {
  bottleneck: boolean;
  /** Why, when bottleneck: short, without the conclusion ("Wi-Fi link rate 6 Mbit/s at the time"). */
  reason?: string;
}

const fmt = (x: number) => String(Math.round(x * 10) / 10);

function signalNote(link: LocalLink): string {
  return link.wifiSignalDbm !== undefined ? `, signal ${fmt(link.wifiSignalDbm)} dBm` : '';
}

/** A throughput test: the measured rate against the local link rate, and where the queue built up. */
export function lanVerdictForThroughput(e: {
  link?: LocalLink | undefined;
  direction: 'download' | 'upload';
  mbps?: number | undefined;
  gatewayIdleMs?: number | undefined;
  gatewayLoadedMs?: number | undefined;
  serverIdleMs?: number | undefined;
  serverLoadedMs?: number | undefined;
}): LanVerdict {
  const link = e.link;
  // With the modem in this computer the gateway is the operator's: its queue is the operator's network.
  if (!link || link.medium === 'cellular') return { bottleneck: false };
  const reasons: string[] = [];
  const rate = e.direction === 'download' ? (link.rxLinkMbps ?? link.linkMbps) : link.linkMbps;
  if (rate !== undefined && e.mbps !== undefined) {
    if (link.medium === 'wifi' && e.mbps >= rate * LAN_RULES.wifiRateShare) reasons.push(`Wi-Fi link rate ${fmt(rate)} Mbit/s at the time${signalNote(link)}`);
    if (link.medium === 'wired' && e.mbps >= rate * LAN_RULES.wiredRateShare) reasons.push(`wired link ${fmt(rate)} Mbit/s at the time`);
  }
  if (e.gatewayIdleMs !== undefined && e.gatewayLoadedMs !== undefined) {
    const gwRise = e.gatewayLoadedMs - e.gatewayIdleMs;
    const srvRise = e.serverIdleMs !== undefined && e.serverLoadedMs !== undefined ? e.serverLoadedMs - e.serverIdleMs : undefined;
    if (gwRise >= LAN_RULES.gatewayRiseMs && (srvRise === undefined || gwRise >= srvRise * LAN_RULES.gatewayRiseShare)) {
      reasons.push(`the round trip to the school's router rose from ${fmt(e.gatewayIdleMs)} to ${fmt(e.gatewayLoadedMs)} ms under load${link.medium === 'wifi' ? ` over Wi-Fi${signalNote(link)}` : ''}`);
    }
  }
  return reasons.length ? { bottleneck: true, reason: reasons.join('; ') } : { bottleneck: false };
}

/** A latency run: how much of the round trip to the server the router alone took (measured just before). */
export function lanVerdictForLatency(e: { link?: LocalLink | undefined; gatewayRttMs?: number | undefined; serverRttMs?: number | undefined }): LanVerdict {
  if (!e.link || e.link.medium === 'cellular' || e.gatewayRttMs === undefined || e.serverRttMs === undefined) return { bottleneck: false };
  if (e.gatewayRttMs >= LAN_RULES.gatewayIdleMs && e.gatewayRttMs >= e.serverRttMs * LAN_RULES.gatewayIdleShare) {
    return { bottleneck: true, reason: `the school's router alone took ${fmt(e.gatewayRttMs)} of the ${fmt(e.serverRttMs)} ms round trip${e.link.medium === 'wifi' ? ` over Wi-Fi${signalNote(e.link)}` : ''}` };
  }
  return { bottleneck: false };
}
