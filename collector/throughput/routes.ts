// The small JSON endpoints of the throughput service, as Hono routes: a short-lived ndt7 test token for an
// enrolled device, and the per-site lease that keeps two agents of one site from testing at once.
import { Hono } from 'hono';
import { API_PREFIX } from '../../protocol/api.ts';
import { LeaseRequest, type LeaseResponse, type Ndt7TokenResponse } from '../../protocol/throughput.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import { deviceAuth } from '../auth/device-auth.ts';
import type { Registry } from '../registry/registry.ts';
import type { ThroughputService } from './service.ts';

export function throughputRoutes(service: Pick<ThroughputService, 'tokens' | 'store'>, registry: Pick<Registry, 'authenticateDevice'>) {
  const app = new Hono<AppEnv>();

  app.post('/ndt7/token', deviceAuth(registry), (c) => {
    const { device, site } = c.get('device');
    const { token, expiresAt } = service.tokens.issue({ deviceId: device.id, siteCode: site.code });
    const q = `?access_token=${encodeURIComponent(token)}`;
    const body: Ndt7TokenResponse = { token, expiresAt, download: `/ndt/v7/download${q}`, upload: `/ndt/v7/upload${q}` };
    c.header('cache-control', 'no-store');
    return c.json(body, 200);
  });

  app.post('/throughput/lease', deviceAuth(registry), async (c) => {
    const text = await c.req.text();
    let raw: unknown = {};
    try {
      raw = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new ApiError(400, 'bad_request', 'request body is not valid JSON');
    }
    const parsed = LeaseRequest.safeParse(raw);
    if (!parsed.success) throw new ApiError(400, 'bad_request', `invalid lease request: ${parsed.error.issues[0]?.message ?? ''}`);
    const { device, site } = c.get('device');
    const answer = service.store.acquireLease(site.code, device.id, parsed.data.durationS * 1000);
    const body: LeaseResponse = answer.granted
      ? { granted: true, leaseId: answer.leaseId, expiresAt: answer.expiresAt }
      : { granted: false, retryAfterS: Math.ceil(answer.retryAfterMs / 1000) };
    c.header('cache-control', 'no-store');
    return c.json(body, 200);
  });

  app.post('/throughput/lease/:id/release', deviceAuth(registry), (c) => {
    service.store.releaseLease(c.get('device').site.code, c.req.param('id'));
    return c.body(null, 204);
  });
  return app;
}

export const THROUGHPUT_ROUTE_PREFIX = API_PREFIX;
