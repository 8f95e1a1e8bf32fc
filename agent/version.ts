import { readFileSync } from 'node:fs';

/** The agent reports this with every batch and in its device facts. */
export const AGENT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
