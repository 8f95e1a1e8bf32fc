// The compliance commands of songcheck-collector:
//   report --period P [--format json|csv|html] [--lang vi|en] [--site CODE ...] [--out FILE]
//   compliance run --period P        compute and store the `compliance` points now
// Both read the registry (SONGCHECK_DATA_DIR) and InfluxDB (SONGCHECK_INFLUX_*), like serve.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../config-error.ts';
import { type CollectorConfig, loadLocalCommandConfig } from '../config.ts';
import { createInfluxWriter } from '../influx/writer.ts';
import { createLogger } from '../logger.ts';
import { Registry } from '../registry/registry.ts';
import { SiteCode } from '../registry/site.ts';
import { formatIssues } from '../validation.ts';
import { CalendarError } from '../school/calendar.ts';
import { complianceCsv } from './csv.ts';
import { periodParam } from './periods.ts';
import { ProfilesError } from '../school/profiles.ts';
import { renderReport } from './report.ts';
import { LANGS } from './report-text.ts';
import { createCompliance } from './setup.ts';

const OPTIONS = {
  period: { type: 'string' },
  format: { type: 'string' },
  lang: { type: 'string' },
  site: { type: 'string', multiple: true },
  out: { type: 'string' },
} as const;

function parse(args: string[], allowed: (keyof typeof OPTIONS)[], timeZone: string) {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: Object.fromEntries(allowed.map((k) => [k, OPTIONS[k]])), strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError([(err as Error).message.split('\n')[0]!]);
  }
  const schema = z.object({
    period: periodParam(timeZone, Date.now),
    format: z.enum(['json', 'csv', 'html']).default('json'),
    lang: z.enum(LANGS).default('vi'),
    site: z.array(SiteCode).optional(),
    out: z.string().min(1).optional(),
  });
  const parsed = schema.safeParse(values);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error).map((l) => `--${l}`));
  return parsed.data;
}

async function knownSites(registry: Registry, codes: string[] | undefined): Promise<void> {
  const known = new Set((await registry.listSites()).map((s) => s.code));
  const unknown = (codes ?? []).filter((c) => !known.has(c));
  if (unknown.length) throw new ConfigError([`--site: no such site: ${unknown.join(', ')} (see "songcheck-collector sites list")`]);
}

/** Runs `fn` with the compliance engine and the registry of this machine's configuration (also the evidence commands). */
export async function withEngine(fn: (c: ReturnType<typeof createCompliance>, registry: Registry, config: CollectorConfig) => Promise<number>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadLocalCommandConfig(env);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const registry = await Registry.open(config.dataDir);
  try {
    const compliance = createCompliance(config.compliance ?? {}, { registry, writer: createInfluxWriter(config.influx, { logger }), logger, schedule: false });
    return await fn(compliance, registry, config);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (err instanceof CalendarError || err instanceof ProfilesError) throw new ConfigError([err.message]);
    process.stderr.write(`songcheck-collector: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await registry.close();
  }
}

/** Exit codes: 0 done, 1 InfluxDB failed, 2 bad usage or configuration (thrown as ConfigError). */
export async function reportCommand(args: string[], write: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  return withEngine(async ({ engine, profiles }, registry) => {
    const a = parse(args, ['period', 'format', 'lang', 'site', 'out'], engine.timeZone);
    await knownSites(registry, a.site);
    const run = await engine.evaluate(a.period, a.site ? { sites: a.site } : {});
    const text = a.format === 'csv' ? complianceCsv(run) : a.format === 'html' ? renderReport(run, profiles, a.lang) : `${JSON.stringify(run, null, 2)}\n`;
    if (a.out) fs.writeFileSync(a.out, text);
    else write(text);
    process.stderr.write(`${run.period.label}: ${run.sites.length} sites, ${run.counts.PASS} PASS, ${run.counts.FAIL} FAIL, ${run.counts.INSUFFICIENT} INSUFFICIENT${a.out ? ` → ${a.out}` : ''}\n`);
    return 0;
  });
}

export async function complianceRunCommand(args: string[]): Promise<number> {
  return withEngine(async ({ engine }, registry) => {
    const a = parse(args, ['period', 'site'], engine.timeZone);
    await knownSites(registry, a.site);
    const run = await engine.run(a.period, a.site ? { sites: a.site } : {});
    process.stdout.write(`${run.period.label}: ${run.sites.length} sites, ${run.counts.PASS} PASS, ${run.counts.FAIL} FAIL, ${run.counts.INSUFFICIENT} INSUFFICIENT; ${run.pointsWritten} points stored (${run.queryMs} ms in InfluxDB queries)\n`);
    return 0;
  });
}
