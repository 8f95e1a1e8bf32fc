// Alerts in the admin API, `/api/v1/admin/alerts/...`: list alert states, acknowledge one, silence by
// site/rule/group with an expiry, see the outbox and the channels' health. Same admin token, same
// error shape and zod validation as the rest of the admin API.
import { Hono } from 'hono';
import { z } from 'zod';
import type { ResolvedDeps } from '../app-types.ts';
import type { AppEnv } from '../http/env.ts';
import type { Alerts } from './service.ts';
import { ApiError, readJson } from '../http/errors.ts';
import { SiteCode } from '../registry/site.ts';
import { formatIssuesLine } from '../validation.ts';

const RuleId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a rule id from the alerts file');
const GroupKey = z.string().regex(/^(commune|operator):.{1,200}$/, 'must be commune:<name> or operator:<name>');

const ListQuery = z.object({ state: z.enum(['ok', 'pending', 'firing', 'resolved']).optional(), rule: RuleId.optional(), site: SiteCode.optional() }).strict();
const AckBody = z.object({ rule: RuleId, site: SiteCode, by: z.string().trim().min(1).max(100).optional() }).strict();
export const SilenceBody = z
  .object({
    rule: RuleId.optional(),
    site: SiteCode.optional(),
    group: GroupKey.optional(),
    minutes: z.number().int().min(1).max(90 * 24 * 60).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    reason: z.string().trim().min(1).max(500).optional(),
    by: z.string().trim().min(1).max(100).optional(),
  })
  .strict()
  .refine((b) => b.rule !== undefined || b.site !== undefined || b.group !== undefined, { message: 'say what to silence: rule, site and/or group' })
  .refine((b) => (b.minutes === undefined) !== (b.until === undefined), { message: 'give exactly one of minutes or until' });
const SilencesQuery = z.object({ all: z.enum(['1', 'true', '0', 'false']).optional() }).strict();
const OutboxQuery = z.object({ status: z.enum(['pending', 'sent', 'failed']).optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }).strict();

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, 'bad_request', `invalid ${what}: ${formatIssuesLine(parsed.error)}`);
  return parsed.data;
}

export function alertRoutes(deps: ResolvedDeps, alerts: Alerts) {
  const app = new Hono<AppEnv>();
  // The admin gate is mounted once on the prefix (app.ts).
  app.use('*', async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
  });
  const { store } = alerts;

  app.get('/', (c) => {
    const q = check(ListQuery, c.req.query(), 'query');
    const states = store.states(q.rule).filter((s) => (!q.state || s.state === q.state) && (!q.site || s.siteCode === q.site));
    return c.json({ alerts: states });
  });

  app.post('/ack', async (c) => {
    const b = check(AckBody, await readJson(c), 'body');
    const by = b.by ?? `admin-api ${c.get('requestId')}`;
    if (!store.acknowledge(b.rule, b.site, by, alerts.clock())) {
      throw new ApiError(404, 'not_found', `no pending or firing alert ${b.rule} for site ${b.site}`);
    }
    deps.logger.info({ rule: b.rule, site: b.site, by }, 'alert acknowledged');
    return c.json({ acknowledged: store.getState(b.rule, b.site) });
  });

  app.get('/silences', (c) => {
    const q = check(SilencesQuery, c.req.query(), 'query');
    const all = q.all === '1' || q.all === 'true';
    return c.json({ silences: store.silences(all ? undefined : alerts.clock()) });
  });

  app.post('/silences', async (c) => {
    const b = check(SilenceBody, await readJson(c), 'body');
    const now = alerts.clock();
    const until = b.until ? Date.parse(b.until) : now + b.minutes! * 60_000;
    if (until <= now) throw new ApiError(400, 'bad_request', 'invalid body: until is in the past');
    const silence = store.addSilence({ ruleId: b.rule, siteCode: b.site, groupKey: b.group, until, reason: b.reason, createdBy: b.by ?? `admin-api ${c.get('requestId')}`, createdAt: now });
    deps.logger.info({ silence }, 'alert silence added');
    return c.json({ silence }, 201);
  });

  app.delete('/silences/:id', (c) => {
    const id = check(z.string().regex(/^sil_[0-9a-f]{16}$/, 'must be a silence id (sil_ and 16 hex characters)'), c.req.param('id'), 'silence id');
    if (!store.removeSilence(id)) throw new ApiError(404, 'not_found', `no silence ${id}`);
    return c.body(null, 204);
  });

  app.get('/outbox', (c) => {
    const q = check(OutboxQuery, c.req.query(), 'query');
    return c.json({ outbox: store.outbox(q) });
  });

  app.get('/channels', (c) => c.json({ channels: alerts.channelHealth() }));
  return app;
}
