// The default route as the Linux kernel lists it in /proc/net/route. Shared by the local-link reading (which
// router, over which link: the gateway probe) and the throughput probe's busy-line check (which interface's
// byte counters): it lives outside both probe folders, because one probe does not import another.

/** /proc/net/route: the lowest-metric default route (destination 0, flag RTF_GATEWAY), its gateway as dotted quad. */
export function parseProcNetRoute(text: string): { iface: string; gateway: string } | undefined {
  let best: { iface: string; gateway: string; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const [iface, dest, gw, flags, , , metric] = line.trim().split(/\s+/);
    if (!iface || dest !== '00000000' || !gw || gw === '00000000') continue;
    if ((parseInt(flags ?? '0', 16) & 0x3) !== 0x3) continue; // RTF_UP | RTF_GATEWAY
    const n = parseInt(gw, 16);
    // Little-endian hex: the first octet is the lowest byte.
    const gateway = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
    const m = Number(metric ?? 0);
    if (!best || m < best.metric) best = { iface, gateway, metric: m };
  }
  return best && { iface: best.iface, gateway: best.gateway };
}
