import { readFileSync } from 'node:fs';

// The one-file build (scripts/build-agent.ts) defines this, since a bundle has no package.json beside it.
declare const SONGCHECK_AGENT_VERSION: string | undefined;

/** The agent reports this with every batch and in its device facts. */
export const AGENT_VERSION: string =
  typeof SONGCHECK_AGENT_VERSION === 'string'
    ? SONGCHECK_AGENT_VERSION
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
