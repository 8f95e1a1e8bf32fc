// GET /healthz for load balancers and operators; GET /api/v1/ping as the agents' HTTP timing target.
import { Hono } from 'hono';
import type { HealthResponse } from '../../protocol/api.ts';
import type { ResolvedDeps } from '../app-types.ts';
import type { AppEnv } from '../http/env.ts';
import { timersHealth } from '../periodic.ts';

export function healthRoutes(deps: ResolvedDeps) {
  const { registry, writer, clock, version } = deps;
  const startedAt = clock();
  const app = new Hono<AppEnv>();

  app.get('/healthz', async (c) => {
    const ping = await writer.ping();
    let reg: HealthResponse['registry'];
    try {
      reg = { ok: true, ...(await registry.counts()) };
    } catch {
      reg = { ok: false, sites: 0, devices: 0 };
    }
    const ok = ping.ok && reg.ok;
    const body: HealthResponse = {
      status: ok ? 'ok' : 'degraded',
      version,
      uptimeS: Math.max(0, Math.round((clock() - startedAt) / 1000)),
      influx: { ok: ping.ok, url: writer.url, latencyMs: ping.latencyMs, ...(ping.error ? { error: ping.error } : {}) },
      registry: reg,
      ...(deps.throughput ? { throughput: await deps.throughput.stats.health() } : {}),
      ...(deps.control ? { control: deps.control.stats() } : {}),
      ...(deps.alerts ? { alerts: { channels: await deps.alerts.channelHealth() } } : {}),
      guards: await deps.guards.health(),
      timers: timersHealth(),
    };
    c.header('cache-control', 'no-store');
    return c.json(body, ok ? 200 : 503);
  });

  // No body and no auth: the agents time this request, so it must be as cheap as the server can make it.
  app.get('/api/v1/ping', (c) => {
    c.header('cache-control', 'no-store');
    return c.body(null, 204);
  });
  return app;
}
