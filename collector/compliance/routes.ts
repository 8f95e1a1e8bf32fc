// Compliance API (docs/compliance.md):
//   GET  /compliance?period=2026-11[&format=json|csv]      every site's verdicts
//   GET  /sites/:code/compliance?period=...                one site's
//   GET  /compliance/report?period=2026-11[&lang=vi|en]    the printable province report (HTML)
//   POST /compliance/run?period=...                        recompute and store (admin token only)
// GETs take the reporting token or the admin token; verdicts are computed on demand from InfluxDB.
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import type { AdminGate } from '../auth/admin-gate.ts';
import type { Registry } from '../registry/registry.ts';
import { SiteCode } from '../registry/site.ts';
import { formatIssuesLine } from '../validation.ts';
import { complianceCsv } from './csv.ts';
import type { ComplianceEngine } from './engine.ts';
import type { ComplianceRun } from './verdicts.ts';
import type { Period } from './periods.ts';
import { periodParam } from './periods.ts';
import type { Profiles } from '../school/profiles.ts';
import { renderReport } from './report.ts';
import { LANGS } from './report-text.ts';

export interface ComplianceRouteDeps {
  engine: ComplianceEngine;
  profiles: Profiles;
  registry: Pick<Registry, 'getSite'>;
  clock: () => number;
  /** Verdicts and reports take the reader's tokens; recomputing takes the admin token. */
  gate: Pick<AdminGate, 'admin' | 'reader'>;
}

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, 'bad_request', `invalid ${what}: ${formatIssuesLine(parsed.error)}`);
  return parsed.data;
}

export function complianceRoutes(deps: ComplianceRouteDeps) {
  const app = new Hono<AppEnv>();
  const { reader: read, admin } = deps.gate;
  const period = periodParam(deps.engine.timeZone, deps.clock);
  const bom = z.enum(['1', 'true', '0', 'false']).transform((v) => v === '1' || v === 'true');
  const ListQuery = z.object({ period, format: z.enum(['json', 'csv']).default('json'), bom: bom.optional() }).strict();
  const ReportQuery = z.object({ period, lang: z.enum(LANGS).default('vi') }).strict();
  const RunQuery = z.object({ period }).strict();

  const evaluate = async (p: Period, sites?: string[]): Promise<ComplianceRun> => {
    try {
      return await deps.engine.evaluate(p, sites ? { sites } : {});
    } catch (err) {
      throw new ApiError(503, 'influx_unavailable', `could not read the evidence from InfluxDB: ${(err as Error).message.slice(0, 300)}`, { 'retry-after': '30' });
    }
  };
  const respond = (c: Context<AppEnv>, run: ComplianceRun, format: 'json' | 'csv', withBom?: boolean) => {
    if (format === 'csv') {
      return c.body(complianceCsv(run, { bom: withBom ?? true }), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="compliance-${run.period.label}.csv"`,
      });
    }
    return c.json(run);
  };

  app.get('/compliance', read, async (c) => {
    const q = check(ListQuery, c.req.query(), 'query');
    return respond(c, await evaluate(q.period), q.format, q.bom);
  });

  app.get('/compliance/report', read, async (c) => {
    const q = check(ReportQuery, c.req.query(), 'query');
    return c.html(renderReport(await evaluate(q.period), deps.profiles, q.lang));
  });

  app.post('/compliance/run', admin, async (c) => {
    const q = check(RunQuery, c.req.query(), 'query');
    try {
      const run = await deps.engine.run(q.period);
      return c.json({ period: run.period, counts: run.counts, sites: run.sites.length, pointsWritten: run.pointsWritten, queryMs: run.queryMs });
    } catch (err) {
      throw new ApiError(503, 'influx_unavailable', `could not compute or store the verdicts: ${(err as Error).message.slice(0, 300)}`, { 'retry-after': '30' });
    }
  });

  app.get('/sites/:code/compliance', read, async (c) => {
    const code = check(SiteCode, c.req.param('code'), 'site code');
    if (!deps.registry.getSite(code)) throw new ApiError(404, 'site_not_found', `no site ${code}`);
    const q = check(ListQuery, c.req.query(), 'query');
    return respond(c, await evaluate(q.period, [code]), q.format, q.bom);
  });
  return app;
}
