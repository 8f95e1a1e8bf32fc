// The console under /console: server-rendered pages (Hono JSX) over the registry, the alert store and the
// compliance engine — the same services as the admin API and CLI, never a copy of their logic.
//
// Access: sign in with the admin token or the reporting token (read-only); a signed session cookie
// (HttpOnly, SameSite=Strict, Secure behind TLS, expiring) then carries the role. Every change is a POST
// that needs the admin role and the page's CSRF token, goes through the registry or alert store with the
// console user as actor, and lands in the audit log. Failed sign-ins are charged to the same per-address
// failure limiter as the admin API.
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Logger } from 'pino';
import { z } from 'zod';
import { timingSafeEqual } from 'node:crypto';
import type { Alerts } from '../alerts/service.ts';
import { createSheetEntries, renderSheets, selectSites } from '../registry/sheets.ts';
import { clientAddress } from '../http/client-address.ts';
import { complianceCsv } from '../compliance/csv.ts';
import type { ComplianceEngine } from '../compliance/engine.ts';
import { parsePeriod, type Period } from '../compliance/periods.ts';
import type { Profiles } from '../school/profiles.ts';
import { renderReport } from '../compliance/report.ts';
import { addDays, localParts } from '../school/zone.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import type { RateLimiter } from '../http/rate-limit.ts';
import { type Registry, RegistryError } from '../registry/registry.ts';
import { sha256 } from '../registry/secrets.ts';
import { SiteCode } from '../registry/site.ts';
import { CsvFormatError, exportSitesCsv, importSitesCsv } from '../registry/sites-csv.ts';
import { loadAssets, serveAsset } from './assets.ts';
import type { ConsoleSettings } from './config.ts';
import { deviceHealth, siteOutages, siteSeries, storedCriteria, storedVerdicts, type StoredVerdict } from './data.ts';
import { isLang, type Lang, TEXTS } from './i18n.ts';
import { BASE, type View } from './layout.tsx';
import { choices, filterRows, type SiteFilter, siteRows, silentByAlert } from './model.ts';
import { OverviewPage, type PeriodChoice } from './pages/overview.tsx';
import { DevicesPage, EnrollmentPage, ImportPage, LIST_PAGE } from './pages/registry.tsx';
import { AlertsPage, LoginPage, MessagePage, ReportsPage } from './pages/misc.tsx';
import { PAGE_SIZE, SitePage, SitesPage } from './pages/sites.tsx';
import { LANG_COOKIE, type Role, type Session, SESSION_COOKIE, SessionKeys } from './session.ts';

/**
 * The import forms post here; the body limit gives them the import's larger cap. Their CSRF token travels
 * in the URL (or the X-CSRF-Token header) and is checked with the session before the body is read.
 */
export const CONSOLE_IMPORT_PATHS = [`${BASE}/import`, `${BASE}/import/confirm`];

export interface ConsoleDeps {
  registry: Registry;
  writer: Pick<InfluxWriter, 'query'>;
  logger: Logger;
  clock: () => number;
  adminToken: string;
  reportToken?: string;
  /**
   * The app's body limit. The console applies it itself, after the session, role and (for the import
   * paths) CSRF checks, so a request without a session never has its body read; the app's own limit skips
   * /console. Without it (tests of the routes alone), bodies are not capped.
   */
  bodyLimit?: MiddlewareHandler;
  /** The admin API's failure limiter (per client address): a guesser gets one budget for both. */
  failures: RateLimiter;
  trustProxy: boolean;
  publicUrl?: string;
  alerts?: Alerts;
  compliance?: { engine: ComplianceEngine; profiles: Profiles };
  settings: ConsoleSettings;
  /** Writes one audit-log entry for changes that do not go through the registry (alerts, sign-in). */
  audit?: (actor: string, action: string, subject: string, detail?: Record<string, unknown>) => Promise<void>;
  /** The evidence pack of one site and period (collector/evidence/); without it the reports page says it is unavailable. */
  evidencePack?: (site: string, period: Period) => Promise<{ text: string }>;
}

type Env = { Variables: { requestId: string; session: Session; lang: Lang; demo: boolean } };

const DEFAULT_TZ = 'Asia/Ho_Chi_Minh';
/** How long a period's stored verdicts are reused between page views. */
const VERDICT_CACHE_MS = 60_000;
const FLASH = ['revoked', 'moved', 'acked', 'silenced', 'withdrawn', 'imported', 'computing'] as const;

const Flag = z.enum(['1', 'on', 'true']).optional().transform((v) => v !== undefined);
const SitesQuery = z.object({
  q: z.string().trim().max(200).optional(),
  commune: z.string().max(200).optional(),
  operator: z.string().max(200).optional(),
  link: z.string().max(20).optional(),
  group: z.string().max(100).optional(),
  verdict: z.enum(['PASS', 'FAIL', 'INSUFFICIENT', 'NONE']).optional(),
  silent: Flag,
  page: z.coerce.number().int().min(1).max(10_000).optional(),
});
const RevokeForm = z.object({ reason: z.string().trim().min(1, 'give a reason').max(500) });
const MoveForm = z.object({ site: SiteCode });
const AckForm = z.object({ rule: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/), site: SiteCode });
const SilenceForm = AckForm.extend({ hours: z.coerce.number().int().min(1).max(90 * 24) });
const SheetsForm = z.object({
  scope: z.enum(['site', 'group', 'commune', 'all']),
  site: z.string().optional(),
  group: z.string().optional(),
  commune: z.string().optional(),
  uses: z.coerce.number().int().min(1).max(10_000).default(1),
  ttlDays: z.coerce.number().gt(0).max(3650).default(30),
});
const DeviceId = z.string().regex(/^dev_[0-9a-f]{32}$/);
const CodeId = z.string().regex(/^ec_[0-9a-f]{16}$/);

/** Only back into the console: never an open redirect. */
function safeBack(back: string | undefined): string | undefined {
  return back !== undefined && (back === BASE || back.startsWith(`${BASE}/`) || back.startsWith(`${BASE}?`)) ? back : undefined;
}

/** The 0-based page a list shows, from `?page=` (1-based), kept inside the list. */
function pageOf(c: Context, total: number): number {
  const asked = Number(c.req.query('page') ?? 1);
  return Math.max(0, Math.min((Number.isInteger(asked) ? asked : 1) - 1, Math.ceil(total / LIST_PAGE) - 1));
}

function queryWithout(c: Context, key: string): string {
  const params = new URLSearchParams(new URL(c.req.url).search);
  params.delete(key);
  return params.toString();
}

/** Empty form fields count as absent. */
function form(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== ''));
}

class PageError extends Error {
  constructor(readonly status: 400 | 401 | 403 | 404 | 413 | 429 | 503, message: string) {
    super(message);
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new PageError(400, r.error.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; '));
  return r.data;
}

async function registryCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof RegistryError) throw new PageError(error.code.endsWith('not_found') ? 404 : 400, error.message);
    throw error;
  }
}

export function consoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<Env>();
  const keys = new SessionKeys(deps.adminToken, deps.clock);
  const assets = loadAssets();
  const adminHash = sha256(deps.adminToken);
  const reportHash = deps.reportToken ? sha256(deps.reportToken) : undefined;
  const timeZone = deps.compliance?.engine.timeZone ?? DEFAULT_TZ;
  const computing = new Map<string, Promise<unknown>>();
  const { registry } = deps;
  const limit: MiddlewareHandler = deps.bodyLimit ?? ((_c, next) => next());

  const isTls = (c: Context) => new URL(c.req.url).protocol === 'https:' || (deps.trustProxy && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https');
  const langOf = (c: Context): Lang => {
    const l = getCookie(c, LANG_COOKIE);
    return isLang(l) ? l : 'vi';
  };
  // Read once per request (middleware below), so the page views stay synchronous.
  const isDemo = async () => (await registry.listSites()).some((s) => s.groups.includes('demo'));
  const view = (c: Context<Env>, extra: Partial<View> = {}): View => {
    const session = c.get('session') as Session | undefined;
    const lang = langOf(c);
    const url = new URL(c.req.url);
    const flash = url.searchParams.get('flash');
    const t = TEXTS[lang];
    const flashText = (FLASH as readonly string[]).includes(flash ?? '')
      ? { revoked: t.revokedOk, moved: t.moved(url.searchParams.get('from') ?? '', url.searchParams.get('to') ?? ''), acked: t.ackedOk, silenced: t.silencedOk, withdrawn: t.withdrawnOk, imported: t.importDone(Number(url.searchParams.get('created') ?? 0), Number(url.searchParams.get('updated') ?? 0)), computing: t.computing }[flash as (typeof FLASH)[number]]
      : undefined;
    return {
      t, lang, here: `${url.pathname}${url.search}`, demo: c.get('demo') ?? false, timeZone,
      ...(session ? { role: session.role, csrf: keys.csrfToken(session) } : {}),
      ...(flashText ? { flash: { kind: 'ok' as const, text: flashText } } : {}),
      ...extra,
    };
  };
  const actor = (c: Context<Env>) => `console ${c.get('session').role} ${c.get('session').sid.slice(0, 8)}`;
  const audit = (c: Context<Env>, action: string, subject: string, detail?: Record<string, unknown>) => {
    void deps.audit?.(actor(c), action, subject, detail)?.catch((err: unknown) => deps.logger.error({ err }, 'console: could not write the audit log'));
    deps.logger.info({ requestId: c.get('requestId'), actor: actor(c), action, subject, ...detail }, 'console change');
  };

  // Periods offered in menus: rolling30 and the last 12 months, in the calendar's zone.
  const periodChoice = (text: string | undefined): { period: Period; choice: PeriodChoice } => {
    const now = deps.clock();
    let period: Period;
    try {
      period = parsePeriod(text && text.trim() !== '' ? text : 'rolling30', timeZone, now);
    } catch (error) {
      throw new PageError(400, (error as Error).message);
    }
    const months: string[] = [];
    let d = `${localParts(now, timeZone).date.slice(0, 7)}-01`;
    for (let i = 0; i < 12; i++) {
      months.push(d.slice(0, 7));
      d = `${addDays(d, -1).slice(0, 7)}-01`;
    }
    return { period, choice: { label: period.label, options: ['rolling30', ...months] } };
  };
  const grafana = deps.settings.grafanaUrl
    ? (site?: string) => (site ? `${deps.settings.grafanaUrl}/d/songcheck-site?var-site=${encodeURIComponent(site)}` : `${deps.settings.grafanaUrl}/d/songcheck-province`)
    : undefined;
  // Stored verdicts change when the engine runs (nightly, or "compute now"), not between page views: one
  // read per period and minute serves the overview, the sites list and every filter of it (bench/console.ts).
  const verdictCache = new Map<string, { at: number; verdicts: Promise<Map<string, StoredVerdict>> }>();
  const verdictsFor = async (period: Period) => {
    const now = deps.clock();
    let hit = verdictCache.get(period.label);
    if (!hit || now - hit.at > VERDICT_CACHE_MS) {
      if (verdictCache.size > 50) verdictCache.clear();
      hit = { at: now, verdicts: storedVerdicts(deps.writer, period) };
      verdictCache.set(period.label, hit);
      hit.verdicts.catch(() => verdictCache.delete(period.label));
    }
    try {
      return await hit.verdicts;
    } catch (error) {
      throw new PageError(503, `InfluxDB did not answer: ${(error as Error).message.slice(0, 200)}`);
    }
  };

  // Every answer: no caching of pages that hold registry data, no framing, no inline scripts.
  app.use('*', async (c, next) => {
    if (!c.req.path.startsWith(`${BASE}/assets/`)) c.set('demo', await isDemo());
    await next();
    if (!c.req.path.startsWith(`${BASE}/assets/`)) c.header('cache-control', 'no-store');
    const tileHost = deps.settings.tiles ? new URL(deps.settings.tiles.url.replace(/\{[a-z]\}/g, 'a')).origin : '';
    c.header('content-security-policy', `default-src 'self'; img-src 'self' data: ${tileHost}; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'`);
    c.header('x-frame-options', 'DENY');
    c.header('referrer-policy', 'same-origin');
    c.header('x-content-type-options', 'nosniff');
  });

  app.onError((error, c) => {
    const status = error instanceof PageError ? error.status : 500;
    if (status === 500) deps.logger.error({ requestId: c.get('requestId'), err: error }, 'console error');
    const v = view(c);
    const text = status === 500 ? `internal error (request ${c.get('requestId') ?? ''})` : error.message;
    return c.html(<MessagePage v={v} title={`${v.t.error} ${status}`} text={text} />, status);
  });

  // ---- public: assets, language, sign-in

  app.get('/assets/:name', (c) => serveAsset(c, assets, c.req.param('name')));

  app.get('/lang/:lang', (c) => {
    const lang = c.req.param('lang');
    if (isLang(lang)) setCookie(c, LANG_COOKIE, lang, { path: BASE, sameSite: 'Lax', maxAge: 365 * 86_400, secure: isTls(c), httpOnly: true });
    const back = c.req.query('back');
    return c.redirect(safeBack(back) ?? BASE, 303);
  });

  const startSession = (c: Context<Env>, role: Role, back?: string) => {
    const { session, cookie } = keys.create(role, deps.settings.sessionHours);
    setCookie(c, SESSION_COOKIE, cookie, { path: BASE, httpOnly: true, sameSite: 'Strict', secure: isTls(c), maxAge: Math.floor(deps.settings.sessionHours * 3600) });
    c.set('session', session);
    void deps.audit?.(`console ${role} ${session.sid.slice(0, 8)}`, 'console.sign_in', role, { address: clientAddress(c, deps.trustProxy) })?.catch((err: unknown) => deps.logger.error({ err }, 'console: could not write the audit log'));
    const to = safeBack(back);
    return c.redirect(to && !to.startsWith(`${BASE}/login`) ? to : BASE, 303);
  };

  app.get('/login', (c) => {
    if (keys.read(getCookie(c, SESSION_COOKIE))) return c.redirect(BASE, 303);
    return c.html(<LoginPage v={view(c)} back={c.req.query('back')} />);
  });

  app.post('/login', limit, async (c) => {
    const address = clientAddress(c, deps.trustProxy);
    // The same key as the admin API's gate, so the console is not a second budget for guessing the token.
    const key = `admin:${address}`;
    const v = view(c);
    const limited = deps.failures.peek(key);
    if (!limited.ok) {
      c.header('retry-after', String(limited.retryAfterS));
      return c.html(<LoginPage v={v} error={v.t.tooMany(limited.retryAfterS)} />, 429);
    }
    const body = await c.req.parseBody();
    const token = typeof body.token === 'string' ? body.token : '';
    const back = typeof body.back === 'string' ? body.back : undefined;
    const hash = sha256(token);
    if (token && timingSafeEqual(hash, adminHash)) return startSession(c, 'admin', back);
    if (token && reportHash && timingSafeEqual(hash, reportHash)) return startSession(c, 'report', back);
    deps.failures.charge(key);
    deps.logger.warn({ requestId: c.get('requestId'), address }, 'console sign-in failed');
    return c.html(<LoginPage v={v} error={v.t.badToken} back={back} />, 401);
  });

  app.get('/login/link', (c) => {
    const role = keys.spendLink(c.req.query('t'));
    if (!role) {
      deps.failures.charge(`admin:${clientAddress(c, deps.trustProxy)}`);
      const v = view(c);
      return c.html(<LoginPage v={v} error={v.t.linkInvalid} />, 401);
    }
    return startSession(c, role);
  });

  // ---- everything else needs a session; changes need the admin role and the CSRF token

  app.use('*', async (c, next) => {
    const session = keys.read(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return c.redirect(`${BASE}/login?back=${encodeURIComponent(c.req.path + (new URL(c.req.url).search))}`, 303);
      throw new PageError(401, TEXTS[langOf(c)].signIn);
    }
    c.set('session', session);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const t = TEXTS[langOf(c)];
      // A request another site made the browser send: refuse before reading anything.
      if (c.req.header('sec-fetch-site') === 'cross-site') throw new PageError(403, t.csrf);
      const logout = c.req.path === `${BASE}/logout`;
      if (session.role !== 'admin' && !logout) throw new PageError(403, t.forbidden);
      // The import paths take up to 32 MiB: their CSRF token comes in the URL or a header and is checked
      // before the body is read (issue 14). Everything else carries it in its (small) form body.
      const large = CONSOLE_IMPORT_PATHS.includes(c.req.path);
      if (large && !keys.checkCsrf(session, c.req.header('x-csrf-token') ?? c.req.query('_csrf'))) throw new PageError(403, t.csrf);
      return limit(c, async () => {
        if (!large) {
          const type = c.req.header('content-type') ?? '';
          const body = type.includes('form') ? await c.req.parseBody() : {};
          const token = typeof body._csrf === 'string' ? body._csrf : c.req.header('x-csrf-token');
          if (!keys.checkCsrf(session, token)) throw new PageError(403, t.csrf);
        }
        await next();
      });
    }
    return next();
  });

  app.post('/logout', (c) => {
    const session = c.get('session');
    keys.end(session);
    void deps.audit?.(actor(c), 'console.sign_out', session.role)?.catch((err: unknown) => deps.logger.error({ err }, 'console: could not write the audit log'));
    deleteCookie(c, SESSION_COOKIE, { path: BASE, secure: isTls(c), httpOnly: true, sameSite: 'Strict' });
    return c.redirect(`${BASE}/login`, 303);
  });

  // ---- overview and sites

  app.get('/', async (c) => {
    const { period, choice } = periodChoice(c.req.query('period'));
    const verdicts = await verdictsFor(period);
    const now = deps.clock();
    const rows = await siteRows(registry, verdicts, now, await silentByAlert(deps.alerts));
    return c.html(
      <OverviewPage v={view(c)} period={choice} rows={rows} stored={verdicts.size > 0} computing={computing.has(period.label)} now={now} tiles={deps.settings.tiles} grafana={grafana} />,
    );
  });

  app.post('/verdicts/run', (c) => {
    const { period } = periodChoice(c.req.query('period'));
    const engine = deps.compliance?.engine;
    if (!engine) throw new PageError(503, 'the compliance engine is not configured on this collector');
    if (!computing.has(period.label)) {
      audit(c, 'compliance.run', period.label);
      // A province takes up to a minute: run it in the background and let the page say so.
      const job = engine.run(period).catch((err: unknown) => deps.logger.error({ err, period: period.label }, 'console: computing verdicts failed')).finally(() => {
        computing.delete(period.label);
        verdictCache.delete(period.label);
      });
      computing.set(period.label, job);
    }
    return c.redirect(`${BASE}?period=${encodeURIComponent(period.label)}&flash=computing`, 303);
  });

  app.get('/sites', async (c) => {
    const q = parse(SitesQuery, form(c.req.query()));
    const { period, choice } = periodChoice(c.req.query('period'));
    const now = deps.clock();
    const all = await siteRows(registry, await verdictsFor(period), now, await silentByAlert(deps.alerts));
    const filter: SiteFilter = { q: q.q, commune: q.commune, operator: q.operator, linkType: q.link, group: q.group, verdict: q.verdict, silent: q.silent };
    const rows = filterRows(all, filter);
    const sites = all.map((r) => r.site);
    const menus = { communes: choices(sites, (s) => s.commune), operators: choices(sites, (s) => s.operator), groups: choices(sites, (s) => s.groups) };
    const params = new URLSearchParams(Object.entries({ ...form(c.req.query()), period: period.label }).filter(([k]) => k !== 'page') as [string, string][]);
    const page = Math.min((q.page ?? 1) - 1, Math.max(0, Math.ceil(rows.length / PAGE_SIZE) - 1));
    return c.html(<SitesPage v={view(c)} period={choice} filter={filter} all={all} rows={rows} page={page} menus={menus} now={now} query={params.toString()} />);
  });

  app.get('/sites/:code', async (c) => {
    const code = parse(SiteCode, c.req.param('code'));
    const site = await registry.getSite(code);
    if (!site) throw new PageError(404, `${TEXTS[langOf(c)].notFound} ${code}`);
    const { period, choice } = periodChoice(c.req.query('period'));
    const now = deps.clock();
    const to = Math.min(period.end, now);
    let data;
    try {
      data = await Promise.all([
        verdictsFor(period).then((m) => m.get(code)),
        storedCriteria(deps.writer, period, code),
        siteSeries(deps.writer, code, period.start, to),
        siteOutages(deps.writer, code, period.start, to),
        deviceHealth(deps.writer, code, now),
      ]);
    } catch (error) {
      throw new PageError(503, `InfluxDB did not answer: ${(error as Error).message.slice(0, 200)}`);
    }
    const [verdict, criteria, series, outages, health] = data;
    const alerts = ((await deps.alerts?.store.states()) ?? []).filter((a) => a.siteCode === code && a.state !== 'ok').sort((a, b) => b.since - a.since).slice(0, 20);
    return c.html(
      <SitePage v={view(c)} period={choice} site={site} verdict={verdict} criteria={criteria} series={series} outages={outages}
        devices={await registry.listDevices({ siteCode: code, includeRevoked: true })} health={health} alerts={alerts} now={now} grafana={grafana?.(code)} />,
    );
  });

  // ---- CSV import and export

  app.get('/import', (c) => c.html(<ImportPage v={view(c)} />));

  const runImport = async (c: Context<Env>, bytes: Uint8Array | string, dryRun: boolean) => {
    try {
      return await importSitesCsv(registry, typeof bytes === 'string' ? bytes : bytes, { dryRun, actor: actor(c) });
    } catch (error) {
      if (error instanceof CsvFormatError) return error;
      throw error;
    }
  };

  app.post('/import', async (c) => {
    const body = await c.req.parseBody();
    const file = body.file;
    if (!(file instanceof File)) throw new PageError(400, 'choose a CSV file');
    const bytes = new Uint8Array(await file.arrayBuffer());
    const report = await runImport(c, bytes, true);
    if (report instanceof Error) return c.html(<ImportPage v={view(c)} formatError={report.message} />, 422);
    let csv: string | undefined;
    try {
      csv = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      csv = undefined;
    }
    return c.html(<ImportPage v={view(c)} report={report} csv={csv} />, report.invalid > 0 ? 422 : 200);
  });

  app.post('/import/confirm', async (c) => {
    const body = await c.req.parseBody();
    if (typeof body.csv !== 'string' || body.csv === '') throw new PageError(400, 'nothing to import: run the dry run first');
    const report = await runImport(c, body.csv, false);
    if (report instanceof Error) return c.html(<ImportPage v={view(c)} formatError={report.message} />, 422);
    // Rows that became invalid since the dry run (someone else edited): show the refusal, nothing written.
    if (!report.applied) return c.html(<ImportPage v={view(c)} report={report} />, 422);
    audit(c, 'sites.import', 'sites', { created: report.created, updated: report.updated, unchanged: report.unchanged });
    return c.redirect(`${BASE}/import?flash=imported&created=${report.created}&updated=${report.updated}`, 303);
  });

  app.get('/import/sites.csv', async (c) =>
    c.body(exportSitesCsv(await registry.listSites(), { bom: true }), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="sites.csv"' }),
  );

  // ---- enrollment

  app.get('/enrollment', async (c) => {
    const site = c.req.query('site') || undefined;
    const activeOnly = c.req.query('active') === '1';
    const sites = await registry.listSites();
    const codes = (await registry.listEnrollmentCodes({ siteCode: site, activeOnly })).sort((a, b) => b.createdAt - a.createdAt);
    return c.html(<EnrollmentPage v={view(c)} codes={codes} sites={sites} groups={choices(sites, (s) => s.groups)} communes={choices(sites, (s) => s.commune)} activeOnly={activeOnly} siteFilter={site}
      page={pageOf(c, codes.length)} query={queryWithout(c, 'page')} />);
  });

  app.post('/enrollment/sheets', async (c) => {
    const b = parse(SheetsForm, form(await c.req.parseBody()));
    const sel = b.scope === 'site' ? { sites: [parse(SiteCode, b.site)] } : b.scope === 'group' ? { group: b.group } : b.scope === 'commune' ? { commune: b.commune } : { all: true };
    const { sites, missing } = await selectSites(registry, sel);
    if (missing.length) throw new PageError(404, `${TEXTS[langOf(c)].notFound} ${missing.join(', ')}`);
    if (sites.length === 0) throw new PageError(404, TEXTS[langOf(c)].noData);
    const entries = await registryCall(() => createSheetEntries(registry, sites, { uses: b.uses, ttlDays: b.ttlDays, actor: actor(c) }));
    audit(c, 'enrollment.sheets', b.scope, { sites: entries.length });
    return c.html(await renderSheets(entries, deps.publicUrl ?? new URL(c.req.url).origin));
  });

  app.post('/enrollment/:id/withdraw', async (c) => {
    const id = parse(CodeId, c.req.param('id'));
    await registryCall(() => registry.revokeEnrollmentCode(id, actor(c)));
    return c.redirect(`${BASE}/enrollment?flash=withdrawn`, 303);
  });

  // ---- devices

  app.get('/devices', async (c) => {
    const site = c.req.query('site') || undefined;
    const revoked = c.req.query('revoked') === '1';
    const duplicates = c.req.query('duplicates') === '1';
    let devices = await registry.listDevices({ siteCode: site, includeRevoked: revoked });
    if (duplicates) devices = devices.filter((d) => d.duplicateFingerprint);
    return c.html(<DevicesPage v={view(c)} devices={devices} sites={await registry.listSites()} filter={{ site, revoked, duplicates }} now={deps.clock()} page={pageOf(c, devices.length)} query={queryWithout(c, 'page')} />);
  });

  const back = (c: Context<Env>, fallback: string) => {
    const ref = c.req.header('referer');
    try {
      const u = ref ? new URL(ref) : undefined;
      if (u && u.pathname.startsWith(BASE)) return `${u.pathname}${u.search.replace(/([?&])flash=[^&]*(&from=[^&]*&to=[^&]*)?/, '$1').replace(/[?&]$/, '')}`;
    } catch {
      // fall through
    }
    return fallback;
  };
  const withFlash = (path: string, flash: string) => `${path}${path.includes('?') ? '&' : '?'}flash=${flash}`;

  app.post('/devices/:id/revoke', async (c) => {
    const id = parse(DeviceId, c.req.param('id'));
    const b = parse(RevokeForm, form(await c.req.parseBody()));
    await registryCall(() => registry.revokeDevice(id, { reason: b.reason, actor: actor(c) }));
    return c.redirect(withFlash(back(c, `${BASE}/devices`), 'revoked'), 303);
  });

  app.post('/devices/:id/move', async (c) => {
    const id = parse(DeviceId, c.req.param('id'));
    const b = parse(MoveForm, form(await c.req.parseBody()));
    const moved = await registryCall(() => registry.moveDevice(id, b.site, actor(c)));
    return c.redirect(`${withFlash(back(c, `${BASE}/devices`), 'moved')}&from=${encodeURIComponent(moved.from)}&to=${encodeURIComponent(moved.to)}`, 303);
  });

  // ---- alerts

  app.get('/alerts', async (c) => {
    const now = deps.clock();
    const a = deps.alerts;
    const states = (await a?.store.states()) ?? [];
    // The newest 200: a province-wide outage fires hundreds at once, and the page stays readable.
    const firing = states.filter((s) => s.state === 'firing' || s.state === 'pending').sort((x, y) => y.since - x.since).slice(0, 200);
    const recent = states.filter((s) => s.state === 'resolved').sort((x, y) => (y.resolvedAt ?? y.since) - (x.resolvedAt ?? x.since)).slice(0, 100);
    return c.html(<AlertsPage v={view(c)} enabled={a !== undefined} firing={firing} recent={recent} silences={(await a?.store.silences(now)) ?? []} channels={(await a?.channelHealth()) ?? []} now={now} />);
  });

  app.post('/alerts/ack', async (c) => {
    const a = deps.alerts;
    if (!a) throw new PageError(503, TEXTS[langOf(c)].alertsOff);
    const b = parse(AckForm, form(await c.req.parseBody()));
    if (!(await a.store.acknowledge(b.rule, b.site, actor(c), a.clock()))) throw new PageError(404, `no pending or firing alert ${b.rule} for site ${b.site}`);
    audit(c, 'alert.ack', `${b.rule}/${b.site}`);
    return c.redirect(withFlash(back(c, `${BASE}/alerts`), 'acked'), 303);
  });

  app.post('/alerts/silence', async (c) => {
    const a = deps.alerts;
    if (!a) throw new PageError(503, TEXTS[langOf(c)].alertsOff);
    const b = parse(SilenceForm, form(await c.req.parseBody()));
    const now = a.clock();
    const silence = await a.store.addSilence({ ruleId: b.rule, siteCode: b.site, until: now + b.hours * 3_600_000, createdBy: actor(c), createdAt: now });
    audit(c, 'alert.silence', `${b.rule}/${b.site}`, { id: silence.id, hours: b.hours });
    return c.redirect(withFlash(back(c, `${BASE}/alerts`), 'silenced'), 303);
  });

  // ---- reports (the compliance engine's own report and CSV)

  app.get('/reports', async (c) => {
    const { choice } = periodChoice(c.req.query('period') ?? `${localParts(deps.clock(), timeZone).date.slice(0, 7)}`);
    return c.html(<ReportsPage v={view(c)} period={choice} evidence={deps.evidencePack !== undefined} />);
  });

  app.get('/reports/evidence', async (c) => {
    if (!deps.evidencePack) throw new PageError(404, TEXTS[langOf(c)].evidenceMissing);
    const site = parse(SiteCode, c.req.query('site')?.trim());
    if (!(await registry.getSite(site))) throw new PageError(404, `${TEXTS[langOf(c)].notFound} ${site}`);
    const { period } = periodChoice(c.req.query('period'));
    let pack;
    try {
      pack = await deps.evidencePack(site, period);
    } catch (error) {
      throw new PageError(503, `could not build the evidence pack: ${(error as Error).message.slice(0, 200)}`);
    }
    return c.body(pack.text, 200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'content-disposition': `attachment; filename="songcheck-evidence-${site}-${period.label}.jsonl"` });
  });

  const evaluate = async (c: Context<Env>) => {
    const engine = deps.compliance?.engine;
    if (!engine) throw new PageError(503, 'the compliance engine is not configured on this collector');
    const { period } = periodChoice(c.req.query('period'));
    try {
      return await engine.evaluate(period);
    } catch (error) {
      throw new PageError(503, `could not read the evidence from InfluxDB: ${(error as Error).message.slice(0, 200)}`);
    }
  };

  app.get('/reports/report.html', async (c) => {
    const lang = c.req.query('lang');
    return c.html(renderReport(await evaluate(c), deps.compliance!.profiles, isLang(lang) ? lang : langOf(c)));
  });

  app.get('/reports/report.csv', async (c) => {
    const run = await evaluate(c);
    return c.body(complianceCsv(run, { bom: true }), 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="compliance-${run.period.label}.csv"` });
  });

  return app;
}
