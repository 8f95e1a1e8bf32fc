// The collector's HTTP API as a Hono app. Built from its dependencies so tests drive it with
// `app.request()` and no network, and server.ts only adds a socket around it.
import { Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { API_PREFIX } from '../protocol/api.ts';
import { alertRoutes } from './alerts/admin-routes.ts';
import { guardAdminRoutes } from './guards/admin-routes.ts';
import { adminRoutes, IMPORT_PATH, MAX_IMPORT_BYTES } from './registry/admin-routes.ts';
import { controlAdminRoutes } from './control/admin-routes.ts';
import type { AppDeps, AppEnv, ResolvedDeps } from './app-types.ts';
import { IngestGuards } from './guards/guards.ts';
import { ApiError, errorResponse } from './http/errors.ts';
import { accessLog } from './http/access-log.ts';
import { bodyLimit } from './http/body-limit.ts';
import { enrollRoutes } from './registry/routes.ts';
import { healthRoutes } from './health/routes.ts';
import { measurementRoutes } from './ingest/routes.ts';
import { DEFAULT_LIMITS } from './http/rate-limit.ts';
import { throughputRoutes } from './throughput/routes.ts';
import { complianceRoutes } from './compliance/routes.ts';
import { evidenceRoutes } from './evidence/routes.ts';
import { buildPack } from './evidence/pack.ts';
import type { EvidenceService } from './evidence/service.ts';
import type { SchoolCalendar } from './school/calendar.ts';
import type { Period } from './compliance/periods.ts';
import { CONSOLE_IMPORT_PATHS, consoleRoutes } from './console/routes.tsx';
import { createAdminGate } from './auth/admin-gate.ts';
import { deviceAuth } from './auth/device-auth.ts';

/** The routes an agent calls with its device token (each also checks it itself, and rate-limits). */
const DEVICE_PATHS = ['/measurements', '/ndt7/token', '/throughput/lease', '/throughput/lease/*', '/devices/key'];

export type { AppDeps, AppEnv } from './app-types.ts';

/** A full batch (500 results) is about 250 KiB of JSON; 1 MiB leaves room without inviting abuse. */
export const MAX_BODY_BYTES = 1024 * 1024;

export function createApp(deps: AppDeps) {
  const clock = deps.clock ?? Date.now;
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const trustProxy = deps.trustProxy ?? false;
  // One gate, one failure budget per client address, for the admin API, verdicts, evidence and the console.
  const gate = createAdminGate({
    adminToken: deps.adminToken, reportToken: deps.compliance?.reportToken, registry: deps.registry, limits: limits.authFailures, clock, trustProxy,
  });
  const full: ResolvedDeps = {
    ...deps, clock, maxBodyBytes: deps.maxBodyBytes ?? MAX_BODY_BYTES, limits, trustProxy, gate,
    guards: new IngestGuards(deps.registry.store, deps.writer, clock, deps.logger, deps.guardOptions),
  };
  const importPath = `${API_PREFIX}${IMPORT_PATH}`;
  const app = new Hono<AppEnv>();

  // Ids from a proxy or agent are kept if they are short and plain, so one id follows a request end to end.
  app.use(requestId({ limitLength: 128, generator: () => crypto.randomUUID() }));
  app.use(accessLog(deps.logger));
  // A site list of a whole country is larger than a batch of results; only the import takes it.
  const largeBodies = new Set([importPath, ...CONSOLE_IMPORT_PATHS]);
  // Authentication before the body limit, which reads chunked and gzip bodies: a request without a valid
  // token is refused (and its connection closed) before a byte of its body is read (issue 14, case 5).
  // Everything under /admin takes the admin token, checked once here for every feature's admin routes.
  app.use(`${API_PREFIX}/admin/*`, gate.admin);
  const device = deviceAuth(deps.registry);
  for (const path of DEVICE_PATHS) app.use(`${API_PREFIX}${path}`, device);
  if (deps.compliance) app.post(`${API_PREFIX}/compliance/run`, gate.admin);
  const limit = bodyLimit({ maxBytes: (c) => (largeBodies.has(c.req.path) ? Math.max(MAX_IMPORT_BYTES, full.maxBodyBytes) : full.maxBodyBytes) });
  // The console applies the limit itself, after its session (and the import's CSRF) check.
  const consoleOwnsLimit = (path: string) => deps.console !== undefined && (path === '/console' || path.startsWith('/console/'));
  app.use((c, next) => (consoleOwnsLimit(c.req.path) ? next() : limit(c, next)));

  app.route('/', healthRoutes(full));
  app.route(API_PREFIX, enrollRoutes(full));
  app.route(API_PREFIX, measurementRoutes(full));
  if (deps.evidence) app.route(API_PREFIX, evidenceRoutes(full, deps.evidence));
  // Remote configuration and commands (collector/control/), before the registry's admin routes.
  app.route(`${API_PREFIX}/admin`, controlAdminRoutes(full));
  app.route(`${API_PREFIX}/admin`, guardAdminRoutes(full));
  app.route(`${API_PREFIX}/admin`, adminRoutes(full));
  if (deps.alerts) app.route(`${API_PREFIX}/admin/alerts`, alertRoutes(full, deps.alerts));
  if (deps.throughput) app.route(API_PREFIX, throughputRoutes(deps.throughput, deps.registry));
  if (deps.compliance) {
    const { engine, profiles } = deps.compliance;
    app.route(API_PREFIX, complianceRoutes({ engine, profiles, registry: deps.registry, clock, gate }));
  }

  // The ICT department's web console (collector/console/, docs/console.md).
  if (deps.console) {
    app.route('/console', consoleRoutes({
      registry: deps.registry, writer: deps.writer, logger: deps.logger, clock: full.clock, adminToken: deps.adminToken, bodyLimit: limit as MiddlewareHandler,
      reportToken: deps.compliance?.reportToken, failures: gate.failures, trustProxy: full.trustProxy,
      publicUrl: deps.publicUrl, alerts: deps.alerts, settings: deps.console.settings,
      ...(deps.compliance ? { compliance: { engine: deps.compliance.engine, profiles: deps.compliance.profiles } } : {}),
      audit: (actor, action, subject, detail) => deps.registry.recordAudit(actor, action, subject, detail),
      ...(deps.evidence && deps.compliance?.calendar ? { evidencePack: evidencePackFor(full, deps.evidence, { ...deps.compliance, calendar: deps.compliance.calendar }) } : {}),
    }));
    app.get('/console/', (c) => c.redirect('/console', 308));
  }

  app.notFound((c) => errorResponse(c, 404, 'not_found', `no route for ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error.status, error.code, error.message, error.headers, error.details);
    if (error instanceof HTTPException && error.status === 413) {
      return errorResponse(c, 413, 'payload_too_large', 'request body is too large; send less per request');
    }
    if (error instanceof HTTPException && error.status < 500) {
      return errorResponse(c, error.status as 400, 'bad_request', error.message || 'bad request');
    }
    deps.logger.error({ requestId: c.get('requestId'), err: error }, 'unhandled error');
    return errorResponse(c, 500, 'internal_error', 'internal error; the collector log has details under this request id');
  });
  return app;
}

/** The evidence pack as the console offers it: the same builder as GET /sites/:code/evidence. */
function evidencePackFor(deps: ResolvedDeps, evidence: EvidenceService, compliance: NonNullable<AppDeps['compliance']> & { calendar: SchoolCalendar }) {
  return (site: string, period: Period) =>
    buildPack({ registry: deps.registry, store: evidence.store, log: evidence.log, engine: compliance.engine, calendar: compliance.calendar, profiles: compliance.profiles, collectorVersion: deps.version, clock: deps.clock }, site, period);
}
