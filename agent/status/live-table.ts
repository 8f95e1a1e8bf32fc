import type { Agent } from '../agent.ts';
import { formatFigures, formatTable } from './format-result.ts';

interface Row {
  probe: string;
  target: string;
  code: string;
  figures: string;
  at: number;
  queued: number;
  delivered: number;
}

/**
 * A live view of what the agent measures and delivers: one row per probe and target with its last figures
 * and how many results are queued and delivered. Redraws in place on a terminal; prints lines otherwise.
 */
export function attachLiveTable(agent: Agent, out: NodeJS.WriteStream = process.stdout): () => void {
  const rows = new Map<string, Row>();
  const key = (probe: string, target: string) => `${probe}\u0000${target}`;
  const tty = out.isTTY === true;

  agent.events.on('queued', (r) => {
    const row = rows.get(key(r.probe, r.target)) ?? { probe: r.probe, target: r.target, code: '', figures: '', at: 0, queued: 0, delivered: 0 };
    Object.assign(row, { code: r.code, figures: formatFigures(r), at: r.measuredAt, queued: row.queued + 1 });
    rows.set(key(r.probe, r.target), row);
    if (!tty) out.write(`${new Date(r.measuredAt).toISOString()}  queued     ${r.probe} ${r.target} ${r.code}  ${row.figures}\n`);
  });
  agent.events.on('acked', (records, acks) => {
    for (const ack of acks) {
      const r = records[ack.index];
      const row = r && rows.get(key(r.probe, r.target));
      if (!row) continue;
      row.queued--;
      if (ack.status !== 'rejected') row.delivered++; // held: the collector keeps it in its dead-letter store
    }
    if (!tty) out.write(`${new Date().toISOString()}  delivered  ${acks.filter((a) => a.status !== 'rejected').length} result(s)\n`);
  });

  if (!tty) return () => {};
  // A line shown under the table, kept across redraws (`npm run demo` puts the console's address there).
  const note = process.env.SONGCHECK_LIVE_NOTE ? `\n ${process.env.SONGCHECK_LIVE_NOTE.slice(0, 1000)}\n` : '';
  const timer = setInterval(() => {
    const q = agent.queue.stats();
    const u = agent.uploader.stats;
    const table = formatTable([
      ['PROBE', 'TARGET', 'CODE', 'FIGURES', 'AT', 'QUEUED', 'DELIVERED'],
      ...[...rows.values()].map((r) => [r.probe, r.target, r.code, r.figures, new Date(r.at).toLocaleTimeString(), String(r.queued), String(r.delivered)]),
    ]);
    const status = u.lastFailure && u.consecutiveFailures > 0 ? `upload failing: ${u.lastFailure.message}` : `last upload ${u.lastUploadAt ? new Date(u.lastUploadAt).toLocaleTimeString() : 'not yet'}`;
    out.write(`\x1b[H\x1b[2J songcheck agent → ${agent.collectorUrl}\n queue ${q.depth} waiting, ${u.stored} stored, ${u.rejected} rejected; ${status}\n\n${table}\n\n Ctrl-C to stop.\n${note}`);
  }, 1000);
  return () => clearInterval(timer);
}
