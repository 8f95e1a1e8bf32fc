// songcheck-collector: run the server, and manage the registry (sites, enrollment codes) on this machine.
// Each command loads only the configuration it needs: registry commands work without InfluxDB settings.
// Exit codes: 0 done, 1 refused (e.g. site exists), 2 bad usage or configuration.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { ConfigError, loadConfig, loadRegistryConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { Registry, RegistryError } from './registry/registry.ts';
import { LINK_TYPES, SiteCode, type SiteInput } from './registry/site.ts';
import { closeOnSignals, startCollector } from './server.ts';
import { formatIssues } from './validation.ts';
import { isWorker, runPrimary, workerSignals } from './workers.ts';

const HELP = `songcheck-collector <command> [options]

Commands:
  serve                      run the collector (configured by SONGCHECK_* environment variables)
  sites add --code CODE --name NAME [--commune X] [--province X] [--operator X]
            [--link-type ${LINK_TYPES.join('|')}] [--lat N --lon N] [--students N] [--group LABEL ...]
  sites list [--json]
  enroll-code --site CODE [--uses N] [--ttl-days N]
                             print a new enrollment code for a site (only its hash is stored)
  help                       show this text

Registry commands use SONGCHECK_DATA_DIR (default ./.data/collector).`;

class UsageError extends Error {}

const decimal = (what: string) => z.string().regex(/^-?\d+(\.\d+)?$/, `must be ${what}`).transform(Number);
const integer = z.string().regex(/^\d+$/, 'must be a whole number').transform(Number);

const SitesAddArgs = z
  .object({
    code: SiteCode,
    name: z.string(),
    commune: z.string().optional(),
    province: z.string().optional(),
    operator: z.string().optional(),
    'link-type': z.enum(LINK_TYPES, { error: `must be one of ${LINK_TYPES.join(', ')}` }).optional(),
    lat: decimal('a latitude in degrees, e.g. 22.48').pipe(z.number().min(-90).max(90)).optional(),
    lon: decimal('a longitude in degrees, e.g. 103.97').pipe(z.number().min(-180).max(180)).optional(),
    students: integer.optional(),
    group: z.array(z.string().min(1)).optional(),
  })
  .refine((a) => (a.lat === undefined) === (a.lon === undefined), { message: 'give --lat and --lon together', path: ['lat'] });

const EnrollCodeArgs = z.object({
  site: SiteCode,
  uses: integer.pipe(z.number().min(1).max(10_000)).optional(),
  'ttl-days': decimal('a number of days').pipe(z.number().gt(0).max(3650)).optional(),
});

function parse<S extends z.ZodType>(args: string[], options: ParseArgsConfig['options'], schema: S, required: string[] = []): z.output<S> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  const missing = required.filter((k) => values[k] === undefined).map((k) => `--${k} is required`);
  if (missing.length) throw new UsageError(missing.join('; '));
  const result = schema.safeParse(values);
  if (!result.success) throw new UsageError(formatIssues(result.error).map((l) => `--${l}`).join('; '));
  return result.data;
}

function openRegistry(): Registry {
  return Registry.open(loadRegistryConfig().dataDir);
}

function sitesAdd(args: string[]): void {
  const a = parse(
    args,
    {
      code: { type: 'string' }, name: { type: 'string' }, commune: { type: 'string' }, province: { type: 'string' },
      operator: { type: 'string' }, 'link-type': { type: 'string' }, lat: { type: 'string' }, lon: { type: 'string' },
      students: { type: 'string' }, group: { type: 'string', multiple: true },
    },
    SitesAddArgs,
    ['code', 'name'],
  );
  const input: SiteInput = {
    code: a.code, name: a.name, commune: a.commune, province: a.province, operator: a.operator, linkType: a['link-type'],
    latitude: a.lat, longitude: a.lon, students: a.students, groups: a.group ?? [],
  };
  const registry = openRegistry();
  try {
    const site = registry.addSite(input);
    process.stdout.write(`added site ${site.code} (${site.name})\n`);
  } finally {
    registry.close();
  }
}

function sitesList(args: string[]): void {
  const { json } = parse(args, { json: { type: 'boolean' } }, z.object({ json: z.boolean().optional() }));
  const registry = openRegistry();
  try {
    const sites = registry.listSites();
    if (json) {
      process.stdout.write(`${JSON.stringify(sites, null, 2)}\n`);
      return;
    }
    const rows = [['CODE', 'NAME', 'COMMUNE', 'OPERATOR', 'LINK'], ...sites.map((s) => [s.code, s.name, s.commune ?? '', s.operator ?? '', s.linkType ?? ''])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(`${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  } finally {
    registry.close();
  }
}

function enrollCode(args: string[]): void {
  const a = parse(args, { site: { type: 'string' }, uses: { type: 'string' }, 'ttl-days': { type: 'string' } }, EnrollCodeArgs, ['site']);
  const config = loadRegistryConfig();
  const registry = Registry.open(config.dataDir);
  try {
    const { code, expiresAt } = registry.createEnrollmentCode(a.site, { uses: a.uses, ttlDays: a['ttl-days'] });
    const url = config.publicUrl ?? `http://${process.env.SONGCHECK_HOST || '127.0.0.1'}:${process.env.SONGCHECK_PORT || '8080'}`;
    // The code alone on stdout so scripts can capture it; the human hint on stderr.
    process.stdout.write(`${code}\n`);
    process.stderr.write(
      `valid until ${new Date(expiresAt).toISOString().slice(0, 10)} for ${a.uses ?? 1} device(s); on the school computer run: songcheck-agent enroll --collector ${url} --code ${code}\n`,
    );
  } finally {
    registry.close();
  }
}

async function serveCommand(args: string[]): Promise<void> {
  parse(args, {}, z.object({}));
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && !isWorker()) return runPrimary(config.workers, config.dataDir, logger);
  const collector = await startCollector(config, { logger });
  closeOnSignals(collector, logger, isWorker() ? workerSignals() : undefined);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'serve') await serveCommand(rest);
    else if (command === 'sites' && rest[0] === 'add') sitesAdd(rest.slice(1));
    else if (command === 'sites' && rest[0] === 'list') sitesList(rest.slice(1));
    else if (command === 'enroll-code') enrollCode(rest);
    else if (command === undefined || command === 'help' || command === '--help' || command === '-h') process.stdout.write(`${HELP}\n`);
    else throw new UsageError(`unknown command "${argv.join(' ')}"; run "songcheck-collector help"`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`songcheck-collector: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`songcheck-collector: ${error.message}\n`);
      return 2;
    }
    if (error instanceof RegistryError) {
      process.stderr.write(`songcheck-collector: ${error.message}\n`);
      return error.code === 'site_exists' || error.code === 'site_not_found' ? 1 : 2;
    }
    throw error;
  }
}

const code = await main(process.argv.slice(2));
// `serve` keeps running on its open server; everything else exits with its code.
if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
