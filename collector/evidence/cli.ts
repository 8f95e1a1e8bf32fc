// songcheck-collector evidence export --site CODE --period P --out FILE
//   writes the site's evidence pack for the period (docs/evidence.md); check it with songcheck-verify.
// songcheck-collector evidence sweep
//   records the heads of finished days and applies the retention now (serve does it hourly).
// Uses SONGCHECK_DATA_DIR, SONGCHECK_EVIDENCE_*, SONGCHECK_INFLUX_* (the verdict) and the calendar and
// profiles settings, like `report`. Exit 0 done, 1 InfluxDB failed, 2 bad usage or configuration.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { withEngine } from '../compliance/cli.ts';
import { periodParam } from '../compliance/periods.ts';
import { ConfigError } from '../config-error.ts';
import { SiteCode } from '../registry/site.ts';
import { COLLECTOR_VERSION } from '../version.ts';
import { formatIssues } from '../validation.ts';
import { loadEvidenceConfig } from './config.ts';
import { buildPack } from './pack.ts';
import { EvidenceService } from './service.ts';

function exportArgs(args: string[], timeZone: string) {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options: { site: { type: 'string' }, period: { type: 'string' }, out: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError([(err as Error).message.split('\n')[0]!]);
  }
  const parsed = z.object({ site: SiteCode, period: periodParam(timeZone, Date.now), out: z.string().min(1, 'is required') }).safeParse(values);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error).map((l) => `--${l}`));
  return parsed.data;
}

export async function evidenceCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'export' && sub !== 'sweep') throw new ConfigError([`evidence: expected "export" or "sweep", got ${JSON.stringify(sub ?? '')}`]);
  return withEngine(async (compliance, registry, config) => {
    const evidence = new EvidenceService(config.evidence ?? loadEvidenceConfig(config.dataDir, env), registry.store, compliance.calendar.timeZone);
    if (sub === 'sweep') {
      const { closed, pruned } = evidence.sweep();
      await evidence.close();
      process.stdout.write(`evidence: ${closed} days closed, ${pruned} day files past the retention deleted\n`);
      return 0;
    }
    const a = exportArgs(rest, compliance.calendar.timeZone);
    if (!registry.getSite(a.site)) throw new ConfigError([`--site: no such site: ${a.site} (see "songcheck-collector sites list")`]);
    const { text, summary } = await buildPack(
      { registry, store: evidence.store, log: evidence.log, engine: compliance.engine, calendar: compliance.calendar, profiles: compliance.profiles, collectorVersion: COLLECTOR_VERSION },
      a.site,
      a.period,
    );
    fs.writeFileSync(a.out, text);
    process.stderr.write(`${summary.site} ${summary.period}: ${summary.verdict}; ${summary.entries} log entries over ${summary.days} days, ${summary.bytes} bytes → ${a.out}\n`);
    return 0;
  }, env);
}
