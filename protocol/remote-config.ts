// A configuration pushed through the control channel is an agent configuration document (the same
// schema as config.yaml, agent-config.ts) with one restriction: it cannot move the agent to another
// collector, since a mistake there would cut the agent off from the channel that could undo it.
// The collector checks a push with this before storing it, and the agent again before applying it.
import { AgentConfig } from './agent-config.ts';

export type RemoteConfigCheck = { ok: true; config: AgentConfig } | { ok: false; reason: string };

export function checkRemoteConfig(raw: unknown): RemoteConfigCheck {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, reason: 'a configuration must be an object (the fields of config.yaml)' };
  if ('collectorUrl' in raw) return { ok: false, reason: 'collectorUrl cannot be set remotely; change it in the config file at the school' };
  const control = (raw as { control?: { enabled?: unknown } }).control;
  if (control && typeof control === 'object' && control.enabled === false) return { ok: false, reason: 'control.enabled cannot be turned off remotely: the agent would stop listening for the configuration that turns it on again' };
  const parsed = AgentConfig.safeParse(raw);
  if (parsed.success) return { ok: true, config: parsed.data };
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
  return { ok: false, reason: `invalid configuration: ${issues.join('; ')}`.slice(0, 500) };
}
