// A configuration pushed through the control channel is an agent configuration document (the same
// schema as config.yaml, agent-config.ts) with restrictions on what a push may change:
// - it cannot move the agent to another collector, since a mistake there would cut the agent off from the
//   channel that could undo it;
// - it cannot name a file the agent executes or trusts (probe-options/index.ts LOCAL_ONLY_OPTIONS: the
//   ping program, a CA bundle), so the admin token is not a way to run a program on every school PC.
//   The agent keeps the values its own config.yaml sets for those (withLocalOnlyOptions).
// The collector checks a push with this before storing it, and the agent again before applying it (and
// before using a stored one), so a configuration stored by an older collector is refused too.
import { AgentConfig } from './agent-config.ts';
import { LOCAL_ONLY_OPTIONS, isScheduledProbe } from './probe-options/index.ts';

export type RemoteConfigCheck = { ok: true; config: AgentConfig } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The first local-only option the raw document sets, as `probes.icmp.options.binary`. */
function localOnlyOptionSet(raw: Record<string, unknown>): string | undefined {
  if (!isObject(raw.probes)) return undefined;
  for (const [probe, schedule] of Object.entries(raw.probes)) {
    if (!isScheduledProbe(probe) || !isObject(schedule) || !isObject(schedule.options)) continue;
    for (const option of LOCAL_ONLY_OPTIONS[probe] ?? []) {
      if (Object.hasOwn(schedule.options, option)) return `probes.${probe}.options.${option}`;
    }
  }
  return undefined;
}

export function checkRemoteConfig(raw: unknown): RemoteConfigCheck {
  if (!isObject(raw)) return { ok: false, reason: 'a configuration must be an object (the fields of config.yaml)' };
  if ('collectorUrl' in raw) return { ok: false, reason: 'collectorUrl cannot be set remotely; change it in the config file at the school' };
  const control = raw.control;
  if (isObject(control) && control.enabled === false) return { ok: false, reason: 'control.enabled cannot be turned off remotely: the agent would stop listening for the configuration that turns it on again' };
  const localOnly = localOnlyOptionSet(raw);
  if (localOnly) return { ok: false, reason: `${localOnly} cannot be set remotely: it names a file the agent would run or trust; set it in the config file at the school` };
  const parsed = AgentConfig.safeParse(raw);
  if (parsed.success) return { ok: true, config: parsed.data };
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
  return { ok: false, reason: `invalid configuration: ${issues.join('; ')}`.slice(0, 500) };
}

/** A checked remote configuration with the local file's local-only options (and its collectorUrl) kept. */
export function withLocalOnlyOptions(remote: AgentConfig, local: AgentConfig): AgentConfig {
  const probes = { ...remote.probes };
  for (const [probe, names] of Object.entries(LOCAL_ONLY_OPTIONS)) {
    const mine = local.probes[probe]?.options;
    const theirs = probes[probe];
    if (!mine || !theirs) continue;
    const kept = Object.fromEntries((names ?? []).filter((n) => mine[n] !== undefined).map((n) => [n, mine[n]]));
    probes[probe] = { ...theirs, options: { ...theirs.options, ...kept } };
  }
  return { ...remote, probes, collectorUrl: local.collectorUrl };
}
