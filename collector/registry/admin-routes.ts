// The admin API, `/api/v1/admin/...`, for the ICT department's tools and scripts: sites (list, add, edit,
// CSV import and export), enrollment codes (create, list, withdraw, printable sheets) and devices (list,
// revoke, move), plus the audit log. Every route needs the admin token; bodies and query strings are
// validated with zod and every error has the usual { error: { code, message, requestId } } shape.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { ResolvedDeps } from '../app-types.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError, readJson } from '../http/errors.ts';
import { RegistryError } from './registry.ts';
import { CsvFormatError, errorDetails, exportSitesCsv, importSitesCsv } from './sites-csv.ts';
import { SiteCode, SiteInput, SitePatch } from './site.ts';
import { formatIssuesLine } from '../validation.ts';
import { createSheetEntries, enrollCommand, filterSites, renderSheets, selectSites, sheetsCsv } from './sheets.ts';

/** Relative to the API prefix; the body limit allows this route a larger body. */
export const IMPORT_PATH = '/admin/sites/import';
/** A country's sites (50 000) are about 8 MB of CSV. */
export const MAX_IMPORT_BYTES = 32 * 1024 * 1024;
/** Sheets made in one request: a province at a time (a country is 25 requests, by group or list). */
export const MAX_SHEETS = 5000;

const flag = z.enum(['1', 'true', '0', 'false']).transform((v) => v === '1' || v === 'true');

const SiteQuery = z.object({ group: z.string().optional(), commune: z.string().optional(), operator: z.string().optional(), q: z.string().max(200).optional() }).strict();
const ImportQuery = z.object({ dry_run: flag.optional(), allow_partial: flag.optional() }).strict();
const ExportQuery = z.object({ bom: flag.optional() }).strict();
const CodeBody = z.object({ uses: z.number().int().min(1).max(10_000).optional(), ttlDays: z.number().gt(0).max(3650).optional() }).strict();
const CodesQuery = z.object({ site: SiteCode.optional(), active: flag.optional() }).strict();
const SheetsBody = z
  .object({
    sites: z.array(SiteCode).min(1).max(MAX_SHEETS).optional(),
    group: z.string().min(1).max(100).optional(),
    commune: z.string().min(1).max(200).optional(),
    all: z.literal(true).optional(),
    uses: z.number().int().min(1).max(10_000).optional(),
    ttlDays: z.number().gt(0).max(3650).optional(),
    format: z.enum(['html', 'csv']).optional(),
  })
  .strict()
  .refine((b) => [b.sites, b.group, b.commune, b.all].filter((x) => x !== undefined).length === 1, {
    message: 'choose the sites with exactly one of sites, group, commune or all',
  });
const DevicesQuery = z.object({ site: SiteCode.optional(), revoked: flag.optional(), duplicates: flag.optional() }).strict();
const RevokeBody = z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict();
const MoveBody = z.object({ site: SiteCode }).strict();
const AuditQuery = z.object({ subject: z.string().max(100).optional(), limit: z.coerce.number().int().min(1).max(10_000).optional() }).strict();
const DeviceId = z.string().regex(/^dev_[0-9a-f]{32}$/, 'must be a device id (dev_ and 32 hex characters)');
const CodeId = z.string().regex(/^ec_[0-9a-f]{16}$/, 'must be an enrollment code id (ec_ and 16 hex characters)');

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, 'bad_request', `invalid ${what}: ${formatIssuesLine(parsed.error)}`);
  return parsed.data;
}

const query = <S extends z.ZodType>(c: Context<AppEnv>, schema: S) => check(schema, c.req.query(), 'query');
const body = async <S extends z.ZodType>(c: Context<AppEnv>, schema: S) => check(schema, await readJson(c), 'body');
/** Optional JSON body: an empty one counts as {}. */
async function optionalBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  if (text.trim() === '') return check(schema, {}, 'body');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'bad_request', `request body is not valid JSON: ${(error as Error).message}`);
  }
  return check(schema, value, 'body');
}

const STATUS: Record<RegistryError['code'], { status: 400 | 404 | 409; code: 'bad_request' | 'site_not_found' | 'device_not_found' | 'enrollment_code_not_found' | 'site_exists' }> = {
  invalid_site: { status: 400, code: 'bad_request' },
  invalid_argument: { status: 400, code: 'bad_request' },
  site_exists: { status: 409, code: 'site_exists' },
  site_not_found: { status: 404, code: 'site_not_found' },
  device_not_found: { status: 404, code: 'device_not_found' },
  code_not_found: { status: 404, code: 'enrollment_code_not_found' },
};

/** Registry refusals as API errors. */
function registryCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RegistryError) {
      const s = STATUS[error.code];
      throw new ApiError(s.status, s.code, error.message);
    }
    throw error;
  }
}

export function adminRoutes(deps: ResolvedDeps) {
  const { registry, logger } = deps;
  const app = new Hono<AppEnv>();
  const collectorUrl = deps.publicUrl ?? 'https://songcheck.example.vn';
  const actor = (c: Context<AppEnv>) => `admin-api ${c.get('requestId')}`;
  const audit = (c: Context<AppEnv>, msg: string, extra: Record<string, unknown>) => logger.info({ requestId: c.get('requestId'), ...extra }, msg);

  // The admin gate is mounted once on the prefix (app.ts).
  // Admin answers carry registry data and fresh enrollment codes: never cached.
  app.use('*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
  });

  // ---- sites

  app.get('/sites', (c) => {
    const q = query(c, SiteQuery);
    return c.json({ sites: filterSites(registry.listSites(), q) });
  });

  app.post('/sites', async (c) => {
    const input = await body(c, SiteInput);
    const site = registryCall(() => registry.addSite(input, actor(c)));
    audit(c, 'site added', { site: site.code });
    return c.json({ site }, 201);
  });

  app.get('/sites/export', (c) => {
    const q = query(c, ExportQuery);
    const csv = exportSitesCsv(registry.listSites(), { bom: q.bom ?? true });
    return c.body(csv, 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="sites.csv"' });
  });

  app.post('/sites/import', async (c) => {
    const q = query(c, ImportQuery);
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    let report;
    try {
      report = importSitesCsv(registry, bytes, { dryRun: q.dry_run, allowPartial: q.allow_partial, actor: actor(c) });
    } catch (error) {
      if (error instanceof CsvFormatError) throw new ApiError(422, 'csv_invalid', error.message);
      throw error;
    }
    if (!report.dryRun && !report.applied) {
      throw new ApiError(
        422,
        'csv_invalid',
        `${report.invalid} invalid row(s); nothing was imported. Fix them, or import the valid rows with allow_partial=1`,
        {},
        errorDetails(report.errors),
      );
    }
    if (report.applied) audit(c, 'sites imported', { created: report.created, updated: report.updated, unchanged: report.unchanged, invalid: report.invalid });
    return c.json(report, 200);
  });

  app.get('/sites/:code', (c) => {
    const code = check(SiteCode, c.req.param('code'), 'site code');
    const site = registry.getSite(code);
    if (!site) throw new ApiError(404, 'site_not_found', `no site with code ${code}`);
    return c.json({ site, devices: registry.listDevices({ siteCode: code, includeRevoked: true }), enrollmentCodes: registry.listEnrollmentCodes({ siteCode: code }) });
  });

  app.patch('/sites/:code', async (c) => {
    const code = check(SiteCode, c.req.param('code'), 'site code');
    const patch = await body(c, SitePatch);
    const result = registryCall(() => registry.updateSite(code, patch, actor(c)));
    if (result.changed.length) audit(c, 'site edited', { site: code, changed: result.changed });
    return c.json(result);
  });

  // ---- enrollment codes

  app.post('/sites/:code/enrollment-codes', async (c) => {
    const code = check(SiteCode, c.req.param('code'), 'site code');
    const opts = await optionalBody(c, CodeBody);
    const created = registryCall(() => registry.createEnrollmentCode(code, opts, actor(c)));
    audit(c, 'enrollment code created', { site: code, id: created.id, uses: created.uses });
    return c.json({ ...created, collectorUrl, command: enrollCommand(collectorUrl, created.code) }, 201);
  });

  app.get('/enrollment-codes', (c) => {
    const q = query(c, CodesQuery);
    return c.json({ codes: registry.listEnrollmentCodes({ siteCode: q.site, activeOnly: q.active }) });
  });

  app.post('/enrollment-codes/:id/revoke', (c) => {
    const id = check(CodeId, c.req.param('id'), 'enrollment code id');
    const revoked = registryCall(() => registry.revokeEnrollmentCode(id, actor(c)));
    audit(c, 'enrollment code withdrawn', { id });
    return c.json({ id, revoked });
  });

  app.post('/enrollment-sheets', async (c) => {
    const b = await body(c, SheetsBody);
    const { sites, missing } = selectSites(registry, b);
    if (missing.length) throw new ApiError(404, 'site_not_found', `no site with code ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`);
    if (sites.length === 0) throw new ApiError(404, 'site_not_found', 'no site matches');
    if (sites.length > MAX_SHEETS) throw new ApiError(400, 'bad_request', `${sites.length} sites selected; make at most ${MAX_SHEETS} sheets per request (select by group or commune)`);
    const entries = registryCall(() => createSheetEntries(registry, sites, { uses: b.uses, ttlDays: b.ttlDays, actor: actor(c) }));
    audit(c, 'enrollment sheets created', { sites: entries.length });
    if (b.format === 'csv') {
      return c.body(sheetsCsv(entries, collectorUrl), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="enrollment-codes.csv"' });
    }
    return c.body(await renderSheets(entries, collectorUrl), 200, { 'content-type': 'text/html; charset=utf-8', 'content-disposition': 'attachment; filename="enrollment-sheets.html"' });
  });

  // ---- devices

  app.get('/devices', (c) => {
    const q = query(c, DevicesQuery);
    let devices = registry.listDevices({ siteCode: q.site, includeRevoked: q.revoked });
    if (q.duplicates) devices = devices.filter((d) => d.duplicateFingerprint);
    return c.json({ devices });
  });

  app.get('/devices/:id', (c) => {
    const id = check(DeviceId, c.req.param('id'), 'device id');
    const device = registry.getDevice(id);
    if (!device) throw new ApiError(404, 'device_not_found', `no device with id ${id}`);
    return c.json({ device });
  });

  app.post('/devices/:id/revoke', async (c) => {
    const id = check(DeviceId, c.req.param('id'), 'device id');
    const b = await optionalBody(c, RevokeBody);
    const changed = registryCall(() => registry.revokeDevice(id, { reason: b.reason, actor: actor(c) }));
    audit(c, 'device revoked', { device: id, changed });
    return c.json({ device: registry.getDevice(id), changed });
  });

  app.post('/devices/:id/move', async (c) => {
    const id = check(DeviceId, c.req.param('id'), 'device id');
    const b = await body(c, MoveBody);
    const moved = registryCall(() => registry.moveDevice(id, b.site, actor(c)));
    audit(c, 'device moved', { device: id, from: moved.from, to: moved.to });
    return c.json({ device: registry.getDevice(id), ...moved });
  });

  // ---- audit log

  app.get('/audit', (c) => {
    const q = query(c, AuditQuery);
    return c.json({ entries: registry.auditLog(q) });
  });

  return app;
}
