import type { Result } from '../../protocol/results.ts';

/** One line of figures for people: the live table and `measure` without --json. */
export function formatFigures(r: Result): string {
  switch (r.probe) {
    case 'tcp':
    case 'icmp': {
      const f = r.fields;
      if (f.received === 0) return `lost ${f.sent}/${f.sent}`;
      return `median ${ms(f.rtt_median_ms)}  p95 ${ms(f.rtt_p95_ms)}  jitter ${ms(f.jitter_ms)}  loss ${f.loss_pct}%`;
    }
    case 'gateway': {
      const f = r.fields;
      const link = `${f.lan_medium}${f.link_mbps === undefined ? '' : ` ${f.link_mbps} Mbit/s`}${f.wifi_signal_dbm === undefined ? '' : ` ${f.wifi_signal_dbm} dBm`}`;
      return `router ${f.received === 0 ? `lost ${f.sent}/${f.sent}` : `median ${ms(f.rtt_median_ms)}  loss ${f.loss_pct}%`}  link ${link}`;
    }
    case 'http': {
      const f = r.fields;
      return `status ${f.status ?? '-'}  connect ${ms(f.connect_ms)}  first byte ${ms(f.ttfb_ms)}  total ${ms(f.total_ms)}`;
    }
    case 'dns':
      return `resolved in ${ms(r.fields.resolve_ms)}  ${r.fields.answers} answer(s)`;
    case 'agent_health':
      return `queue ${r.fields.queue_depth} (${Math.round(r.fields.queue_bytes / 1024)} KiB)  evicted ${r.fields.evicted_total}  rss ${r.fields.rss_mb} MB`;
    case 'device_facts':
      return `${r.fields.os} ${r.fields.os_version}  ${r.fields.iface ?? '-'} (${r.fields.iface_type ?? '-'})  agent ${r.fields.agent_version}`;
    case 'throughput': {
      const f = r.fields;
      const rate = f.mbps === undefined ? '-' : `${f.mbps.toFixed(2)} Mbit/s`;
      const loaded = f.loaded_rtt_median_ms === undefined ? '' : `  loaded RTT ${ms(f.loaded_rtt_median_ms)} (idle ${ms(f.idle_rtt_ms)}, RPM ${f.rpm ?? '-'})`;
      const flags = [f.busy && 'line busy before', f.cross_traffic && 'cross traffic', f.lan_bottleneck && `LAN bottleneck: ${f.lan_reason ?? ''}`, f.confirmation_of && 'confirmation', f.boost && `after a boost of ${((f.boost_bytes ?? 0) / 1e6).toFixed(1)} MB at ${(f.boost_peak_mbps ?? 0).toFixed(1)} Mbit/s`, f.boost_learning && 'learning test'].filter(Boolean);
      return `${r.direction} ${rate}  ${r.method} x${f.streams}  ${(f.bytes / 1e6).toFixed(1)} MB in ${(f.duration_ms / 1000).toFixed(1)} s (${f.stop_reason})${loaded}${flags.length ? `  [${flags.join('; ')}]` : ''}`;
    }
    case 'uptime': {
      const f = r.fields;
      return `${f.checks_up}/${f.checks} checks up  link down ${f.checks_link_down}  dns down ${f.checks_dns_down}  collector down ${f.checks_collector_down}`;
    }
    case 'outage':
      return `${r.kind} for ${Math.round(r.fields.duration_s)} s (${r.fields.checks_failed} failed checks, ${r.fields.ended_by})`;
    case 'agent_event':
      return `${r.event}${r.fields.gap_s === undefined ? '' : ` after ${Math.round(r.fields.gap_s)} s`}${r.fields.reason ? `  ${r.fields.reason}` : ''}`;
  }
}

const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}
