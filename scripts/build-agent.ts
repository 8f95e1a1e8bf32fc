// Builds the agent into one JavaScript file that runs with a plain `node` (20+) and no node_modules:
// what is installed on a school PC or a Raspberry Pi. `npm run build:agent` → dist/songcheck-agent.mjs.
import { chmodSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { AGENT_NODE_FLAGS } from '../agent/service/node-flags.ts';

const root = new URL('../', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };

export { AGENT_NODE_FLAGS };

export async function buildAgent(outfile = new URL('dist/songcheck-agent.mjs', root).pathname): Promise<string> {
  await build({
    entryPoints: [new URL('agent/cli.ts', root).pathname],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { SONGCHECK_AGENT_VERSION: JSON.stringify(version) },
    // Bundled CommonJS dependencies (systeminformation, pino) call require(); give the ESM bundle one.
    banner: {
      js: [
        // Run directly, the file picks its own V8 flags (agent/service/node-flags.ts).
        `#!/usr/bin/env -S node ${AGENT_NODE_FLAGS.join(' ')}`,
        // Bundled CommonJS dependencies (systeminformation, pino) call require(); give the ESM bundle one.
        "import { createRequire as songcheckCreateRequire } from 'node:module'; const require = songcheckCreateRequire(import.meta.url);",
      ].join('\n'),
    },
  });
  chmodSync(outfile, 0o755);
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`built ${await buildAgent()}`);
}
