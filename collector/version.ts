// The collector reports the package version (in /healthz and logs) so a fleet's state can be dated.
import fs from 'node:fs';

export const COLLECTOR_VERSION: string = (
  JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
