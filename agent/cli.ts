import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { Result } from '../protocol/results.ts';
import type { AgentConfig } from '../protocol/agent-config.ts';
import { ConfigError, loadAgentConfig } from './config.ts';
import { collectDeviceFacts } from './device/facts.ts';
import { EnrollError, enroll } from './identity/enroll.ts';
import { formatFigures, formatTable } from './status/format-result.ts';
import { ensureDataDir, loadIdentity, NotEnrolledError } from './identity/identity.ts';
import { dataFiles, defaultDataDir } from './platform/paths.ts';
import { getProbe, PROBES } from './probes/registry.ts';
import { RunLockError } from './platform/run-lock.ts';
import { runAgent } from './run.ts';
import { AGENT_VERSION } from './version.ts';

const USAGE = `songcheck-agent ${AGENT_VERSION}: measures this school's Internet link and reports to the collector.

  songcheck-agent enroll --collector URL --code CODE   enroll this computer with a site's code
  songcheck-agent run [--config FILE] [--live] [--log-file]
                                                       run unattended (--live shows a table; --log-file
                                                       logs to <data dir>/logs/agent.log, rotated)
  songcheck-agent measure PROBE [--target T] [--json]  run one probe now (${Object.keys(PROBES).join(', ')})
  songcheck-agent status [--json]                      site, collector, queue, last results, version
  songcheck-agent doctor [--json]                      checks this computer and says what to fix
  songcheck-agent service install|uninstall|definition the Windows service (see docs/install-windows.md)
  songcheck-agent measure throughput [--method ndt7|http] [--target URL|mlab] [--json]

  --data-dir DIR   where identity, queue and config live (default: $SONGCHECK_AGENT_DIR, the service's
                   state directory, or ~/.songcheck)`;

/** A mistake in how the agent was called: one line, exit code 2. */
export class UsageError extends Error {}

const common = { 'data-dir': { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (command === '--version' || command === 'version') {
    console.log(AGENT_VERSION);
    return 0;
  }
  if (command === 'enroll') return cmdEnroll(rest);
  if (command === 'run') return cmdRun(rest);
  if (command === 'measure') return cmdMeasure(rest);
  if (command === 'status') return cmdStatus(rest);
  if (command === 'doctor') return cmdDoctor(rest);
  if (command === 'service') return (await import('./commands/service.ts')).cmdService(rest, { asUsage, UsageError });
  // Internal: the running agent reads device facts through this in a child process (see device/facts.ts).
  if (command === 'facts') return cmdFacts();
  throw new UsageError(`unknown command '${command}' (try: enroll, run, measure, status, doctor, service, help)`);
}

/** parseArgs throws on unknown or malformed flags; that is the caller's mistake, so it becomes a usage line. */
export function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]!);
  }
}

function check<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`--${String(issue.path[0] ?? '')}: ${issue.message}`);
  }
  return parsed.data;
}

async function cmdEnroll(args: string[]): Promise<number> {
  const { values } = asUsage(() => parseArgs({ args, options: { ...common, collector: { type: 'string' }, code: { type: 'string' } } }));
  const v = check(
    z.object({
      collector: z.url({ message: 'give the collector URL, e.g. --collector https://songcheck.example.vn' }),
      code: z.string({ message: 'give the enrollment code printed for this site, e.g. --code K7QM-3XTP-9HWD' }).min(4),
    }),
    values,
  );
  const dataDir = values['data-dir'] ?? defaultDataDir();
  ensureDataDir(dataDir);
  const identity = await enroll({ dataDir, collectorUrl: v.collector, code: v.code });
  console.log(`enrolled as device ${identity.deviceId} of site ${identity.site.code} (${identity.site.name}); identity stored in ${dataDir}`);
  console.log(`start measuring with: songcheck-agent run${values['data-dir'] ? ` --data-dir ${dataDir}` : ''}`);
  return 0;
}

async function cmdRun(args: string[]): Promise<number> {
  const { values } = asUsage(() => parseArgs({ args, options: { ...common, live: { type: 'boolean' }, 'log-file': { type: 'boolean' } } }));
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const config = withCollectorFromEnv(loadAgentConfig(values.config, dataFiles(dataDir).config));
  await runAgent({ dataDir, config, live: !!values.live, logToFile: !!values['log-file'], ...testClockSkew() });
  return 0;
}

async function cmdMeasure(args: string[]): Promise<number> {
  const { values, positionals } = asUsage(() =>
    parseArgs({ args, allowPositionals: true, options: { ...common, target: { type: 'string', multiple: true }, json: { type: 'boolean' }, method: { type: 'string' } } }),
  );
  const probeNames = Object.keys(PROBES) as [string, ...string[]];
  const name = check(z.object({ probe: z.enum(probeNames, { message: `name a probe: ${probeNames.join(', ')}` }) }), { probe: positionals[0] }).probe;
  const probe = getProbe(name);
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const config = withCollectorFromEnv(loadAgentConfig(values.config, dataFiles(dataDir).config));
  let targets = values.target ?? config.probes[name]?.targets ?? [];
  if (targets.length === 0) {
    const collectorUrl = config.collectorUrl ?? loadIdentityOrUndefined(dataDir)?.collectorUrl;
    targets = probe.defaultTargets({ collectorUrl });
    if (targets.length === 0) throw new UsageError(`probe '${name}' has no default target here: give one with --target`);
  }
  let options = config.probes[name]!.options;
  if (values.method !== undefined) {
    if (name !== 'throughput') throw new UsageError('--method is for throughput only');
    options = { ...options, method: check(z.object({ method: z.enum(['ndt7', 'http'], { message: 'ndt7 or http' }) }), { method: values.method }).method };
  }
  const timeout = AbortSignal.timeout(config.probes[name]!.timeoutSeconds * 1000);
  const results: Result[] = [];
  const identity = loadIdentityOrUndefined(dataDir);
  // A throughput test shows its progress on a terminal (stderr, so --json output stays clean).
  const progress = process.stderr.isTTY ? (line: string) => process.stderr.write(`\r\x1b[K${line}`) : undefined;
  const ctx = { signal: timeout, now: Date.now, dataDir, collectorUrl: config.collectorUrl ?? identity?.collectorUrl, ...(identity ? { deviceToken: identity.token } : {}), ...(progress ? { progress } : {}) };
  for (const target of targets) results.push(...(probe.runMany ? await probe.runMany(target, options, ctx) : [await probe.run(target, options, ctx)]));
  if (progress) process.stderr.write('\r\x1b[K');
  if (values.json) {
    console.log(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
  } else {
    console.log(formatTable([['PROBE', 'TARGET', 'CODE', 'FIGURES'], ...results.map((r) => [r.probe, r.target, r.code, formatFigures(r) + (r.detail ? `  (${r.detail})` : '')])]));
  }
  return results.every((r) => r.code === 'ok') ? 0 : 1;
}

// status, doctor and service are loaded only when called: they stay out of the resident agent.
async function cmdStatus(args: string[]): Promise<number> {
  const { values } = asUsage(() => parseArgs({ args, options: { ...common, json: { type: 'boolean' } } }));
  const { formatStatus, gatherStatus } = await import('./commands/status.ts');
  const status = await gatherStatus({ dataDir: values['data-dir'] ?? defaultDataDir(), configFile: values.config });
  console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
  return status.enrolled ? 0 : 1;
}

async function cmdDoctor(args: string[]): Promise<number> {
  const { values } = asUsage(() => parseArgs({ args, options: { ...common, json: { type: 'boolean' } } }));
  const { formatChecks, runDoctor } = await import('./commands/doctor.ts');
  const checks = await runDoctor({ dataDir: values['data-dir'] ?? defaultDataDir(), configFile: values.config });
  console.log(values.json ? JSON.stringify(checks, null, 2) : formatChecks(checks));
  return checks.some((c) => c.verdict === 'fail') ? 1 : 0;
}

/** SONGCHECK_COLLECTOR_URL points an enrolled agent elsewhere without editing files (a config file still wins). */
function withCollectorFromEnv(config: AgentConfig): AgentConfig {
  const fromEnv = process.env.SONGCHECK_COLLECTOR_URL;
  if (!fromEnv || config.collectorUrl) return config;
  if (!URL.canParse(fromEnv)) throw new ConfigError(`SONGCHECK_COLLECTOR_URL is not a URL: ${fromEnv}`);
  return { ...config, collectorUrl: fromEnv };
}

/**
 * Fault injection for tests only: SONGCHECK_TEST_CLOCK_SKEW_MS shifts this agent's view of the device clock,
 * as a Raspberry Pi without a real-time clock would be. Never set in production.
 */
function testClockSkew(): { clock?: { raw: () => number } } {
  const skew = Number(process.env.SONGCHECK_TEST_CLOCK_SKEW_MS ?? '');
  return Number.isFinite(skew) && skew !== 0 ? { clock: { raw: () => Date.now() + skew } } : {};
}

async function cmdFacts(): Promise<number> {
  console.log(JSON.stringify(await collectDeviceFacts()));
  return 0;
}

function loadIdentityOrUndefined(dataDir: string) {
  try {
    return loadIdentity(dataDir);
  } catch {
    return undefined;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`songcheck-agent: ${err.message}`);
      process.exit(2);
    }
    if (err instanceof ConfigError || err instanceof EnrollError || err instanceof NotEnrolledError || err instanceof RunLockError) {
      console.error(`songcheck-agent: ${err.message}`);
      process.exit(1);
    }
    console.error(err);
    process.exit(1);
  },
);
