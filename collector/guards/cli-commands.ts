// CLI of the ingest guards: the dead-letter store (list, retry, purge) and flagged devices. Same
// operations as the admin routes (collector/guards/admin-routes.ts), on the registry database.
import { z } from 'zod';
import { REFUSAL_KINDS } from '../influx/errors.ts';
import type { CliHelpers } from '../command-line.ts';
import { DeadLetters, type DeadLetterFilter } from './dead-letters.ts';
import { DeviceFlags } from './device-flags.ts';

export const GUARDS_HELP = `  dead-letters list [--kind K] [--site CODE] [--device ID] [--limit N] [--json]
                             results InfluxDB refused although they were valid (kinds: ${REFUSAL_KINDS.join(', ')}),
                             kept on disk with InfluxDB's reason; the agents no longer hold them
  dead-letters retry [--kind K] [--site CODE] [--device ID] [--id N ...] [--limit N]
                             send them to InfluxDB again (after fixing the database); stored ones leave the store
  dead-letters purge (--all | --kind K | --site CODE | --device ID | --id N ...)
                             delete them for good
  devices flagged [--json]   devices a guard caught (series budget), with counts
  devices unflag --id ID     clear a device's flags after dealing with it`;

const time = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const integer = z.string().regex(/^\d+$/, 'must be a whole number').transform(Number);
const filterOptions = { kind: { type: 'string' }, site: { type: 'string' }, device: { type: 'string' }, id: { type: 'string', multiple: true }, limit: { type: 'string' } } as const;
const FilterArgs = z.object({
  kind: z.enum(REFUSAL_KINDS).optional(),
  site: z.string().min(1).optional(),
  device: z.string().min(1).optional(),
  id: z.array(integer).optional(),
  limit: integer.pipe(z.number().min(1).max(10_000)).optional(),
});
const toFilter = (a: z.output<typeof FilterArgs>): DeadLetterFilter => ({ kind: a.kind, site: a.site, device: a.device, ids: a.id, limit: a.limit });

export function guardCommands(h: CliHelpers): Record<string, (args: string[]) => void | Promise<void>> {
  return {
    'dead-letters list': async (args) => {
      const a = h.parse(args, { ...filterOptions, json: { type: 'boolean' } }, FilterArgs.extend({ json: z.boolean().optional() }));
      const { items, counts } = await h.withRegistry(async (r) => {
        const store = new DeadLetters(r.store, Date.now);
        return { items: await store.list(toFilter(a)), counts: await store.counts() };
      });
      if (a.json) return h.out(JSON.stringify({ ...counts, items }, null, 2));
      h.out(`${counts.total} held (${Object.entries(counts.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`);
      h.table([['ID', 'SITE', 'DEVICE', 'RESULT', 'KIND', 'FIRST (UTC)', 'ATTEMPTS', 'REASON'],
        ...items.map((d) => [String(d.id), d.siteCode, d.deviceId, d.resultId, d.kind, time(d.firstAt), String(d.attempts), d.reason.slice(0, 120)])]);
    },
    'dead-letters retry': async (args) => {
      const a = h.parse(args, filterOptions, FilterArgs);
      // Loaded only here: the other commands start faster without the InfluxDB client.
      const [{ loadLocalCommandConfig }, { createInfluxWriter }] = await Promise.all([import('../config.ts'), import('../influx/writer.ts')]);
      const writer = createInfluxWriter(loadLocalCommandConfig().influx);
      const outcome = await h.withRegistry((r) => new DeadLetters(r.store, Date.now).retry(writer, toFilter(a)));
      h.out(`${outcome.stored} stored and removed, ${outcome.refused} refused again (kept)`);
      if (outcome.error) throw h.refused(`retry stopped: ${outcome.error}`);
    },
    'dead-letters purge': async (args) => {
      const a = h.parse(args, { ...filterOptions, all: { type: 'boolean' } }, FilterArgs.extend({ all: z.boolean().optional() }));
      if (!a.all && !a.kind && !a.site && !a.device && !a.id) throw h.usage('say what to purge: --all, --kind K, --site CODE, --device ID or --id N');
      const purged = await h.withRegistry((r) => new DeadLetters(r.store, Date.now).purge(toFilter(a)));
      h.out(`${purged} dead letter(s) deleted`);
    },
    'devices flagged': async (args) => {
      const a = h.parse(args, { json: { type: 'boolean' } }, z.object({ json: z.boolean().optional() }));
      const flags = await h.withRegistry((r) => new DeviceFlags(r.store, { write: async () => {} }, Date.now).list());
      if (a.json) return h.out(JSON.stringify(flags, null, 2));
      h.table([['DEVICE', 'SITE', 'FLAG', 'COUNT', 'FIRST (UTC)', 'LAST (UTC)', 'DETAIL'], ...flags.map((f) => [f.deviceId, f.siteCode, f.flag, String(f.count), time(f.firstAt), time(f.lastAt), f.detail])]);
    },
    'devices unflag': async (args) => {
      const a = h.parse(args, { id: { type: 'string' } }, z.object({ id: z.string().min(1) }), ['id']);
      const n = await h.withRegistry((r) => new DeviceFlags(r.store, { write: async () => {} }, Date.now).clear(a.id));
      h.out(n ? `flags of ${a.id} cleared` : `${a.id} had no flags`);
    },
  };
}
