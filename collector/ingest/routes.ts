// POST /api/v1/measurements: acknowledges results only after InfluxDB answered 2xx (the delivery contract).
import { Hono } from 'hono';
import { MeasurementBatch } from '../../protocol/api.ts';
import type { ResolvedDeps } from '../app-types.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError, readJson } from '../http/errors.ts';
import { RetryableWriteError } from '../influx/errors.ts';
import { evidenceIngest } from '../evidence/ingest.ts';
import { ingest } from './ingest.ts';
import { deviceAuth } from '../auth/device-auth.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import { annotateServerState } from '../throughput/server-state-fields.ts';
import { formatIssuesLine } from '../validation.ts';

/** Base delay before an agent retries after a 503; the jitter spreads a fleet's retries apart. */
const RETRY_AFTER_S = 30;
const RETRY_JITTER_S = 15;

export function measurementRoutes(deps: ResolvedDeps) {
  const { registry, writer, logger, clock } = deps;
  const perDevice = new RateLimiter(deps.limits.device, clock);
  const app = new Hono<AppEnv>();

  app.post('/measurements', deviceAuth(registry, perDevice), async (c) => {
    const envelope = MeasurementBatch.safeParse(await readJson(c));
    if (!envelope.success) throw new ApiError(400, 'bad_request', `invalid batch: ${formatIssuesLine(envelope.error)}`);
    const { device, site } = c.get('device');
    const now = clock();
    // Seen even if InfluxDB is down: "the site is silent" must stay distinct from "we could not store".
    registry.touchDevice(device.id, now, envelope.data.agentVersion);
    const log = logger.child({ requestId: c.get('requestId'), device: device.id, site: site.code });
    try {
      const states = deps.throughput?.serverStates;
      const annotate = states ? annotateServerState(states, device.id) : undefined;
      const context = { writer, guards: deps.guards, deviceId: device.id, site, now, sentAt: envelope.data.sentAt };
      const response = deps.evidence
        ? await evidenceIngest(deps.evidence, (results, capture) => ingest({ ...context, annotate: (r, p) => { annotate?.(r, p); capture(r, p); } }, results), envelope.data.results, { deviceId: device.id, siteCode: site.code, agentVersion: envelope.data.agentVersion, now }, log)
        : await ingest({ ...context, annotate }, envelope.data.results);
      if (response.held) log.error({ held: response.held, sample: response.results.filter((r) => r.status === 'held').slice(0, 3) }, 'InfluxDB refused results that are not at fault: kept in the dead-letter store (songcheck-collector dead-letters list)');
      if (response.rejected > 0) {
        const sample = response.results.filter((r) => r.status === 'rejected').slice(0, 3);
        log.warn({ stored: response.stored, rejected: response.rejected, sample }, 'results rejected');
      } else {
        log.debug({ stored: response.stored }, 'results stored');
      }
      // Older agents ignore the extra field; newer ones warn when they are behind it.
      return c.json(deps.recommendedAgentVersion ? { ...response, recommendedAgentVersion: deps.recommendedAgentVersion } : response, 200);
    } catch (error) {
      if (!(error instanceof RetryableWriteError)) throw error;
      if (error.misconfigured) {
        log.error({ err: error.message, status: error.statusCode }, 'InfluxDB refused the collector: check SONGCHECK_INFLUX_* (credentials, database); agents keep their data meanwhile');
      } else {
        log.warn({ err: error.message }, 'InfluxDB unavailable; batch not acknowledged');
      }
      const retryAfter = String(RETRY_AFTER_S + Math.floor(Math.random() * (RETRY_JITTER_S + 1)));
      throw new ApiError(503, 'influx_unavailable', 'measurement storage is unavailable; keep the results and retry later', {
        'retry-after': retryAfter,
      });
    }
  });
  return app;
}
