// What operators do with the control channel, shared by the admin API (admin-routes.ts) and the CLI:
// push a configuration to a site, a group or all agents, see each device's state of it, and ask
// devices to run a probe now. Delivery is the hub's job (it polls the store), in whichever process
// holds the device's socket.
import { z } from 'zod';
import { ControlCommand } from '../../protocol/control.ts';
import { isScheduledProbe, SCHEDULED_PROBES } from '../../protocol/probe-options/index.ts';
import { checkRemoteConfig } from '../../protocol/remote-config.ts';
import type { Registry } from '../registry/registry.ts';
import { SiteCode } from '../registry/site.ts';
import type { ConfigScope, ControlStore, DeviceConfigStatus, StoredCommand, StoredConfig } from './store.ts';

export type ControlOpCode = 'bad_request' | 'site_not_found' | 'device_not_found' | 'command_not_found';
export class ControlOpError extends Error {
  constructor(
    readonly code: ControlOpCode,
    message: string,
  ) {
    super(message);
  }
}

/** How long a command waits for its device to connect before it expires. */
export const DEFAULT_COMMAND_TTL_MS = 60 * 60_000;

const exactlyOne = (b: Record<string, unknown>, keys: string[]) => keys.filter((k) => b[k] !== undefined).length === 1;

export const ConfigTarget = z
  .object({ site: SiteCode.optional(), group: z.string().min(1).max(100).optional(), all: z.literal(true).optional() })
  .strict()
  .refine((b) => exactlyOne(b, ['site', 'group', 'all']), { message: 'choose the agents with exactly one of site, group or all' });
export type ConfigTarget = z.infer<typeof ConfigTarget>;

export const DeviceId = z.string().regex(/^dev_[0-9a-f]{32}$/, 'must be a device id (dev_ and 32 hex characters)');
export const CommandTarget = z
  .object({ device: DeviceId.optional(), site: SiteCode.optional() })
  .strict()
  .refine((b) => exactlyOne(b, ['device', 'site']), { message: 'choose the agents with exactly one of device or site' });
export type CommandTarget = z.infer<typeof CommandTarget>;

export function scopeOf(registry: Registry, target: ConfigTarget): ConfigScope {
  if (target.site !== undefined) {
    if (!registry.getSite(target.site)) throw new ControlOpError('site_not_found', `no site with code ${target.site}`);
    return { kind: 'site', site: target.site };
  }
  if (target.group !== undefined) {
    if (!registry.listSites().some((s) => s.groups.includes(target.group!))) throw new ControlOpError('bad_request', `no site is in group "${target.group}"; check the label (sites list --group)`);
    return { kind: 'group', group: target.group };
  }
  return { kind: 'all' };
}

/** Validates the configuration as the agent will (protocol/remote-config.ts) and stores it as a new version. */
export function pushConfig(registry: Registry, store: ControlStore, target: ConfigTarget, config: unknown, actor: string): StoredConfig & { devices: number } {
  const scope = scopeOf(registry, target);
  const checked = checkRemoteConfig(config);
  if (!checked.ok) throw new ControlOpError('bad_request', checked.reason);
  const stored = store.pushConfig(scope, config as Record<string, unknown>, actor);
  const devices = registry.listDevices().filter((d) => scope.kind === 'all' || (scope.kind === 'site' ? d.siteCode === scope.site : registry.getSite(d.siteCode)?.groups.includes(scope.group))).length;
  return { ...stored, devices };
}

export function configStatus(registry: Registry, store: ControlStore, filter: { site?: string; group?: string } = {}): DeviceConfigStatus[] {
  const sites = new Map(registry.listSites().map((s) => [s.code, s]));
  const devices = registry
    .listDevices(filter.site ? { siteCode: filter.site } : {})
    .filter((d) => filter.group === undefined || sites.get(d.siteCode)?.groups.includes(filter.group));
  return store.configStatus(sites, devices);
}

/** Queues the command for each chosen device (a site's active devices, or one device). */
export function queueCommand(registry: Registry, store: ControlStore, target: CommandTarget, command: ControlCommand, actor: string, ttlMs = DEFAULT_COMMAND_TTL_MS): StoredCommand[] {
  if (command.kind === 'run_probe' && !isScheduledProbe(command.probe)) {
    throw new ControlOpError('bad_request', `unknown probe '${command.probe}' (known: ${SCHEDULED_PROBES.join(', ')})`);
  }
  let deviceIds: string[];
  if (target.device !== undefined) {
    const device = registry.getDevice(target.device);
    if (!device || device.revokedAt !== undefined) throw new ControlOpError('device_not_found', `no active device with id ${target.device}`);
    deviceIds = [device.id];
  } else {
    if (!registry.getSite(target.site!)) throw new ControlOpError('site_not_found', `no site with code ${target.site}`);
    deviceIds = registry.listDevices({ siteCode: target.site }).map((d) => d.id);
    if (deviceIds.length === 0) throw new ControlOpError('device_not_found', `site ${target.site} has no active device`);
  }
  return deviceIds.map((id) => store.addCommand(id, command, actor, ttlMs));
}

export function getCommand(store: ControlStore, id: string): StoredCommand {
  const cmd = store.getCommand(id);
  if (!cmd) throw new ControlOpError('command_not_found', `no command with id ${id}`);
  return cmd;
}
