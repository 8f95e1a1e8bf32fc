// Evidence routes (docs/evidence.md):
//   POST /devices/key                          device token: an enrolled agent registers its signing key (once)
//   GET  /sites/:code/evidence?period=2026-11  reporting or admin token: the evidence pack (JSON lines)
import { Hono } from 'hono';
import { z } from 'zod';
import { KeyRegistrationRequest } from '../../protocol/evidence.ts';
import type { ResolvedDeps } from '../app-types.ts';
import type { AppEnv } from '../http/env.ts';
import { periodParam } from '../compliance/periods.ts';
import { ApiError, readJson } from '../http/errors.ts';
import { deviceAuth } from '../auth/device-auth.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import { SiteCode } from '../registry/site.ts';
import { formatIssuesLine } from '../validation.ts';
import { buildPack, PackError } from './pack.ts';
import type { EvidenceService } from './service.ts';
import { KeyConflictError } from './store.ts';

export function evidenceRoutes(deps: ResolvedDeps, evidence: EvidenceService) {
  const { registry, clock, logger } = deps;
  const app = new Hono<AppEnv>();
  const perDevice = new RateLimiter(deps.limits.device, clock);

  app.post('/devices/key', deviceAuth(registry, perDevice), async (c) => {
    const parsed = KeyRegistrationRequest.safeParse(await readJson(c));
    if (!parsed.success) throw new ApiError(400, 'bad_request', `invalid key registration: ${formatIssuesLine(parsed.error)}`);
    const { device, site } = c.get('device');
    try {
      const key = evidence.store.registerKey(device.id, parsed.data.publicKey, 'upgrade', clock());
      logger.info({ requestId: c.get('requestId'), device: device.id, site: site.code, keyId: key.keyId }, 'device signing key registered');
      return c.json({ keyId: key.keyId, registeredAt: key.registeredAt }, 200, { 'cache-control': 'no-store' });
    } catch (error) {
      if (!(error instanceof KeyConflictError)) throw error;
      logger.warn({ requestId: c.get('requestId'), device: device.id, site: site.code }, 'signing key replacement refused');
      throw new ApiError(409, 'signing_key_exists', error.message);
    }
  });

  const compliance = deps.compliance;
  if (!compliance?.calendar) return app;
  const { engine, profiles, calendar } = compliance;
  const read = deps.gate.reader;
  const Query = z.object({ period: periodParam(calendar.timeZone, clock) }).strict();
  app.get('/sites/:code/evidence', read, async (c) => {
    const code = SiteCode.safeParse(c.req.param('code'));
    if (!code.success) throw new ApiError(400, 'bad_request', `invalid site code: ${formatIssuesLine(code.error)}`);
    if (!registry.getSite(code.data)) throw new ApiError(404, 'site_not_found', `no site with code ${code.data}`);
    const q = Query.safeParse(c.req.query());
    if (!q.success) throw new ApiError(400, 'bad_request', `invalid query: ${formatIssuesLine(q.error)}`);
    try {
      const { text, summary } = await buildPack({ registry, store: evidence.store, log: evidence.log, engine, calendar, profiles, collectorVersion: deps.version, clock }, code.data, q.data.period);
      logger.info({ requestId: c.get('requestId'), ...summary }, 'evidence pack exported');
      return c.body(text, 200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'content-disposition': `attachment; filename="songcheck-evidence-${code.data}-${q.data.period.label}.jsonl"`,
        'cache-control': 'no-store',
      });
    } catch (error) {
      if (error instanceof PackError) throw new ApiError(404, 'site_not_found', error.message);
      throw error;
    }
  });
  return app;
}
