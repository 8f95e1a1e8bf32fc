#!/usr/bin/env node
// The sources are TypeScript run by tsx; registering its loader here keeps `npm i` the whole install.
import { register } from 'tsx/esm/api';
register();
await import('../agent/cli.ts');
