// CLI commands of the control channel (songcheck-collector config ..., run-probe, commands list). They
// write to the collector's store like the other registry commands; the running collector delivers what
// they store within a second (its poll), to whichever process holds each agent's socket.
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { CliHelpers } from '../command-line.ts';
import { SiteCode } from '../registry/site.ts';
import { CommandId } from '../../protocol/control.ts';
import { configStatus, ControlOpError, DeviceId, getCommand, pushConfig, queueCommand } from './operations.ts';
import { ControlStore, type StoredCommand } from './store.ts';

export const CONTROL_HELP = `  config push (--site CODE | --group LABEL | --all) FILE
                             push an agent configuration (YAML or JSON, the fields of config.yaml) to those
                             agents; validated here and again by each agent, which applies it or keeps its old one
  config status [--site CODE] [--group LABEL] [--state pending|applied|rejected|none] [--json]
                             each device's state of the configuration meant for it, with the agent's reason
  config list [--json]       pushed configuration versions, newest first
  run-probe (--device ID | --site CODE) --probe NAME [--target T ...] [--wait SECONDS]
                             ask agents to run a probe now; its results arrive as usual; --wait follows the command
  commands list [--device ID] [--json]`;

const time = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().slice(0, 19).replace('T', ' '));

export function controlCommands(h: CliHelpers): Record<string, (args: string[]) => void | Promise<void>> {
  const op = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ControlOpError) throw error.code === 'bad_request' ? h.usage(error.message) : h.refused(error.message);
      throw error;
    }
  };
  const commandRow = (c: StoredCommand) => [c.id, c.deviceId, `${c.command.kind} ${c.command.probe}${c.command.targets ? ` ${c.command.targets.join(',')}` : ''}`, c.status, time(c.updatedAt), c.detail ?? ''];

  return {
    'config push': async (args) => {
      const a = h.parse(args, { site: { type: 'string' }, group: { type: 'string' }, all: { type: 'boolean' } },
        z.object({ site: SiteCode.optional(), group: z.string().min(1).optional(), all: z.literal(true).optional() })
          .refine((v) => [v.site, v.group, v.all].filter((x) => x !== undefined).length === 1, { message: 'choose the agents with exactly one of --site CODE, --group LABEL or --all', path: ['site'] }),
        [], 1);
      const file = a._[0];
      if (!file) throw h.usage('give the configuration file: config push --all FILE');
      let config: unknown;
      try {
        config = parseYaml(fs.readFileSync(file === '-' ? 0 : file, 'utf8'));
      } catch (error) {
        throw h.usage(`${file}: ${(error as Error).message.split('\n')[0]}`);
      }
      const target = a.site !== undefined ? { site: a.site } : a.group !== undefined ? { group: a.group } : { all: true as const };
      const stored = await h.withRegistry((r) => op(() => pushConfig(r, new ControlStore(r.store), target, config, h.actor())));
      h.out(`configuration version ${stored.version} stored for ${stored.scope} (${stored.devices} device(s)); connected agents get it within seconds, the others when they connect`);
      h.out('follow it with: songcheck-collector config status');
    },
    'config status': async (args) => {
      const a = h.parse(args, { site: { type: 'string' }, group: { type: 'string' }, state: { type: 'string' }, json: { type: 'boolean' } },
        z.object({ site: SiteCode.optional(), group: z.string().min(1).optional(), state: z.enum(['pending', 'applied', 'rejected', 'none']).optional(), json: z.boolean().optional() }));
      let rows = await h.withRegistry((r) => configStatus(r, new ControlStore(r.store), { site: a.site, group: a.group }));
      if (a.state) rows = rows.filter((d) => d.state === a.state);
      if (a.json) return h.out(JSON.stringify(rows, null, 2));
      h.table([['DEVICE', 'SITE', 'WANTED', 'REPORTED', 'STATE', 'SINCE (UTC)', 'REASON'],
        ...rows.map((d) => [d.deviceId, d.siteCode, String(d.wantedVersion || '-'), String(d.reportedVersion ?? '-'), d.state, time(d.updatedAt), d.reason ?? ''])]);
    },
    'config list': async (args) => {
      const a = h.parse(args, { json: { type: 'boolean' } }, z.object({ json: z.boolean().optional() }));
      const configs = await h.withRegistry((r) => new ControlStore(r.store).listConfigs());
      if (a.json) return h.out(JSON.stringify(configs, null, 2));
      h.table([['VERSION', 'SCOPE', 'CREATED (UTC)', 'BY', 'SECTIONS'], ...configs.map((c) => [String(c.version), c.scope, time(c.createdAt), c.actor, Object.keys(c.config).join(',')])]);
    },
    'commands list': async (args) => {
      const a = h.parse(args, { device: { type: 'string' }, json: { type: 'boolean' } }, z.object({ device: DeviceId.optional(), json: z.boolean().optional() }));
      const commands = await h.withRegistry((r) => new ControlStore(r.store).listCommands({ deviceId: a.device }));
      if (a.json) return h.out(JSON.stringify(commands, null, 2));
      h.table([['ID', 'DEVICE', 'COMMAND', 'STATUS', 'UPDATED (UTC)', 'DETAIL'], ...commands.map(commandRow)]);
    },
    'run-probe': async (args) => {
      const a = h.parse(args, { device: { type: 'string' }, site: { type: 'string' }, probe: { type: 'string' }, target: { type: 'string', multiple: true }, wait: { type: 'string' } },
        z.object({
          device: DeviceId.optional(),
          site: SiteCode.optional(),
          probe: z.string().min(1),
          target: z.array(z.string().min(1).max(200)).max(20).optional(),
          wait: z.string().regex(/^\d+$/, 'must be a whole number of seconds').transform(Number).pipe(z.number().max(3600)).optional(),
        }).refine((v) => (v.device === undefined) !== (v.site === undefined), { message: 'choose the agents with exactly one of --device ID or --site CODE', path: ['device'] }),
        ['probe']);
      const target = a.device !== undefined ? { device: a.device } : { site: a.site! };
      const command = { kind: 'run_probe' as const, probe: a.probe, ...(a.target ? { targets: a.target } : {}) };
      await h.withRegistry(async (r) => {
        const store = new ControlStore(r.store);
        const queued = await op(() => queueCommand(r, store, target, command, h.actor()));
        for (const c of queued) h.out(`command ${c.id} queued for ${c.deviceId}`);
        if (!a.wait) return;
        // Bounded: one look a second until every command is answered or --wait runs out.
        const ids = queued.map((c) => CommandId.parse(c.id));
        for (let i = 0; i < a.wait; i++) {
          const now = await Promise.all(ids.map((id) => getCommand(store, id)));
          if (now.every((c) => c.status === 'done' || c.status === 'failed' || c.status === 'expired')) break;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        const final = await Promise.all(ids.map((id) => getCommand(store, id)));
        h.table([['ID', 'DEVICE', 'COMMAND', 'STATUS', 'UPDATED (UTC)', 'DETAIL'], ...final.map(commandRow)]);
        if (final.some((c) => c.status !== 'done')) throw h.refused('not every command was done (see STATUS)');
      });
    },
  };
}
