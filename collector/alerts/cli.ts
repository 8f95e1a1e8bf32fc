// `songcheck-collector alerts ...`: list alerts, acknowledge, silence and unsilence, see the outbox, on this
// machine's registry file (SONGCHECK_DATA_DIR), while serve runs. Returns the exit code: 0 done, 1 refused,
// 2 bad usage.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { SilenceBody } from './admin-routes.ts';
import { loadRegistryConfig } from '../config.ts';
import { openCollectorStore } from '../database.ts';
import { SiteCode } from '../registry/site.ts';
import { formatIssuesLine } from '../validation.ts';
import { AlertStore } from './store.ts';

export const ALERTS_HELP = `  alerts list [--state firing|pending|resolved|ok] [--json]
  alerts ack --rule RULE --site CODE [--by NAME]
                             quiet a firing alert until it resolves (the resolution is still sent)
  alerts silence [--rule RULE] [--site CODE] [--group commune:X|operator:X] (--minutes N | --until ISO)
                 [--reason TEXT]   hold notifications that match until the silence expires
  alerts silences [--all]    active silences (--all: expired ones too)
  alerts unsilence --id ID
  alerts outbox [--status pending|sent|failed] [--json]`;

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function alertsCommand(argv: string[], io: { out: (s: string) => void; err: (s: string) => void; now?: () => number; env?: NodeJS.ProcessEnv }): number {
  const [sub, ...args] = argv;
  const now = (io.now ?? Date.now)();
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        state: { type: 'string' }, json: { type: 'boolean' }, rule: { type: 'string' }, site: { type: 'string' }, by: { type: 'string' },
        group: { type: 'string' }, minutes: { type: 'string' }, until: { type: 'string' }, reason: { type: 'string' }, all: { type: 'boolean' },
        id: { type: 'string' }, status: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.err(`songcheck-collector alerts: ${(error as Error).message}`);
    return 2;
  }
  const usage = (msg: string) => {
    io.err(`songcheck-collector alerts ${sub ?? ''}: ${msg}`);
    return 2;
  };
  const db = openCollectorStore(loadRegistryConfig(io.env).dataDir);
  const store = new AlertStore(db);
  try {
    switch (sub) {
      case 'list': {
        const states = store.states().filter((s) => !parsed.state || s.state === parsed.state);
        if (parsed.json) io.out(JSON.stringify(states, null, 2));
        else io.out(table([['RULE', 'SITE', 'STATE', 'SINCE (UTC)', 'NOTIFIED', 'ACK', 'SUMMARY'], ...states.map((s) => [s.ruleId, s.siteCode, s.state, iso(s.since), iso(s.notifiedAt), s.ackedBy ?? '-', s.summary ?? ''])]));
        return 0;
      }
      case 'ack': {
        const a = z.object({ rule: z.string().min(1), site: SiteCode, by: z.string().min(1).max(100).optional() }).safeParse(parsed);
        if (!a.success) return usage(formatIssuesLine(a.error));
        if (!store.acknowledge(a.data.rule, a.data.site, a.data.by ?? 'cli', now)) {
          io.err(`songcheck-collector alerts ack: no pending or firing alert ${a.data.rule} for site ${a.data.site}`);
          return 1;
        }
        io.out(`acknowledged ${a.data.rule} for ${a.data.site}; quiet until it resolves`);
        return 0;
      }
      case 'silence': {
        const minutes = parsed.minutes === undefined ? undefined : Number(parsed.minutes);
        const b = SilenceBody.safeParse({ rule: parsed.rule, site: parsed.site, group: parsed.group, minutes, until: parsed.until, reason: parsed.reason, by: parsed.by });
        if (!b.success) return usage(formatIssuesLine(b.error));
        const until = b.data.until ? Date.parse(b.data.until) : now + b.data.minutes! * 60_000;
        if (until <= now) return usage('--until is in the past');
        const s = store.addSilence({ ruleId: b.data.rule, siteCode: b.data.site, groupKey: b.data.group, until, reason: b.data.reason, createdBy: b.data.by ?? 'cli', createdAt: now });
        io.out(`silence ${s.id} until ${iso(until)} UTC`);
        return 0;
      }
      case 'silences': {
        const list = store.silences(parsed.all ? undefined : now);
        io.out(table([['ID', 'RULE', 'SITE', 'GROUP', 'UNTIL (UTC)', 'BY', 'REASON'], ...list.map((s) => [s.id, s.ruleId ?? '*', s.siteCode ?? '*', s.groupKey ?? '*', iso(s.until), s.createdBy, s.reason ?? ''])]));
        return 0;
      }
      case 'unsilence': {
        if (!parsed.id) return usage('--id is required');
        if (!store.removeSilence(parsed.id)) {
          io.err(`songcheck-collector alerts unsilence: no silence ${parsed.id}`);
          return 1;
        }
        io.out(`removed silence ${parsed.id}`);
        return 0;
      }
      case 'outbox': {
        const rows = store.outbox({ status: parsed.status, limit: 100 });
        if (parsed.json) io.out(JSON.stringify(rows, null, 2));
        else io.out(table([['ID', 'CREATED (UTC)', 'CHANNEL', 'KIND', 'STATUS', 'ATTEMPTS', 'LAST ERROR'], ...rows.map((r) => [String(r.id), iso(r.createdAt), r.channel, r.kind, r.status, String(r.attempts), r.lastError ?? ''])]));
        return 0;
      }
      default:
        return usage(`unknown alerts command; one of list, ack, silence, silences, unsilence, outbox`);
    }
  } finally {
    db.close();
  }
}
