// Admin routes of the ingest guards: the dead-letter store (list, retry, purge) and flagged devices
// (docs/collector.md#admin-api). Same operations as `songcheck-collector dead-letters ...`.
import { Hono } from 'hono';
import { z } from 'zod';
import type { ResolvedDeps } from '../app-types.ts';
import { checkInput, readJson } from '../http/errors.ts';
import type { AppEnv } from '../http/env.ts';
import { REFUSAL_KINDS } from '../influx/errors.ts';
import { DeadLetterFilter } from './dead-letters.ts';

const ListQuery = z
  .object({
    kind: z.enum(REFUSAL_KINDS).optional(),
    site: z.string().min(1).max(100).optional(),
    device: z.string().min(1).max(100).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).optional(),
  })
  .strict();
const PurgeBody = DeadLetterFilter.extend({ all: z.literal(true).optional() }).refine(
  (b) => b.all || b.kind || b.site || b.device || b.ids,
  { message: 'say what to purge: all: true, kind, site, device or ids', path: ['all'] },
);

export function guardAdminRoutes(deps: ResolvedDeps) {
  const app = new Hono<AppEnv>();
  // The admin gate is mounted once on the prefix (app.ts).
  const { deadLetters, flags } = deps.guards;

  app.get('/dead-letters', (c) => {
    const q = checkInput(ListQuery, c.req.query(), 'query');
    c.header('cache-control', 'no-store');
    return c.json({ ...deadLetters.counts(), items: deadLetters.list(q) });
  });
  app.post('/dead-letters/retry', async (c) => {
    const filter = checkInput(DeadLetterFilter, await readJson(c), 'body');
    const outcome = await deadLetters.retry(deps.writer, filter);
    deps.logger.info({ requestId: c.get('requestId'), ...outcome }, 'dead letters retried');
    return c.json(outcome, outcome.error ? 503 : 200);
  });
  app.post('/dead-letters/purge', async (c) => {
    const { all: _all, ...filter } = checkInput(PurgeBody, await readJson(c), 'body');
    const purged = deadLetters.purge(filter);
    deps.logger.info({ requestId: c.get('requestId'), purged, filter }, 'dead letters purged');
    return c.json({ purged });
  });
  app.get('/device-flags', (c) => {
    c.header('cache-control', 'no-store');
    return c.json({ devices: flags.list() });
  });
  app.delete('/device-flags/:device', (c) => c.json({ cleared: flags.clear(c.req.param('device')) }));
  return app;
}
