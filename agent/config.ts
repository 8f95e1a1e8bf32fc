// Reading the agent's config file: YAML in, a validated AgentConfig out (the schema is protocol/agent-config.ts,
// shared with the collector, which checks configurations pushed to agents with the same schema).
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AgentConfig } from '../protocol/agent-config.ts';

export class ConfigError extends Error {}

/** Parses and validates config text; every problem is reported with its path so a person can fix the file. */
export function parseAgentConfig(text: string, source = 'config'): AgentConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = AgentConfig.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** The config file when given or present; the defaults otherwise, so an enrolled agent needs no config at all. */
export function loadAgentConfig(file: string | undefined, fallbackFile: string): AgentConfig {
  const path = file ?? (existsSync(fallbackFile) ? fallbackFile : undefined);
  if (path === undefined) return parseAgentConfig('{}', 'defaults');
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`);
  return parseAgentConfig(readFileSync(path, 'utf8'), path);
}
