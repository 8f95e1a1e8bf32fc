// Admin API of the control channel, under /api/v1/admin (admin token): push a configuration
// (POST /agent-configs), list pushed versions (GET /agent-configs), each device's state
// (GET /agent-configs/status), ask agents to run a probe (POST /commands) and follow a command
// (GET /commands/:id, GET /commands?device=). Bodies and queries are validated; errors have the usual shape.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { CommandId, ControlCommand } from '../../protocol/control.ts';
import type { ResolvedDeps } from '../app-types.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError, readJson } from '../http/errors.ts';
import { SiteCode } from '../registry/site.ts';
import { formatIssuesLine } from '../validation.ts';
import { CommandTarget, ConfigTarget, configStatus, ControlOpError, DeviceId, getCommand, pushConfig, queueCommand } from './operations.ts';
import { ControlStore } from './store.ts';

const ConfigDocument = z
  .unknown()
  .refine((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object (the fields of config.yaml)')
  .transform((v) => v as Record<string, unknown>);
const PushBody = z.object({ target: ConfigTarget, config: ConfigDocument }).strict();
const StatusQuery = z.object({ site: SiteCode.optional(), group: z.string().min(1).max(100).optional(), state: z.enum(['pending', 'applied', 'rejected', 'none']).optional() }).strict();
const CommandBody = z
  .object({ target: CommandTarget, command: ControlCommand, ttlSeconds: z.number().int().min(10).max(7 * 86_400).optional() })
  .strict();
const CommandsQuery = z.object({ device: DeviceId.optional(), limit: z.coerce.number().int().min(1).max(1000).optional() }).strict();
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }).strict();

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, 'bad_request', `invalid ${what}: ${formatIssuesLine(parsed.error)}`);
  return parsed.data;
}

function op<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ControlOpError) throw new ApiError(error.code === 'bad_request' ? 400 : 404, error.code, error.message);
    throw error;
  }
}

export function controlAdminRoutes(deps: ResolvedDeps) {
  const { registry, logger, clock } = deps;
  const store = new ControlStore(registry.store, clock);
  const app = new Hono<AppEnv>();
  const actor = (c: Context<AppEnv>) => `admin-api ${c.get('requestId')}`;
  // The admin gate is mounted once on the prefix (app.ts).

  app.post('/agent-configs', async (c) => {
    const b = check(PushBody, await readJson(c), 'body');
    const stored = op(() => pushConfig(registry, store, b.target, b.config, actor(c)));
    logger.info({ requestId: c.get('requestId'), version: stored.version, scope: stored.scope, devices: stored.devices }, 'agent configuration pushed');
    return c.json({ version: stored.version, scope: stored.scope, devices: stored.devices, createdAt: stored.createdAt }, 201);
  });

  app.get('/agent-configs', (c) => {
    const q = check(ListQuery, c.req.query(), 'query');
    return c.json({ configs: store.listConfigs(q.limit) }, 200, { 'cache-control': 'no-store' });
  });

  app.get('/agent-configs/status', (c) => {
    const q = check(StatusQuery, c.req.query(), 'query');
    let devices = configStatus(registry, store, q);
    if (q.state) devices = devices.filter((d) => d.state === q.state);
    const counts = { pending: 0, applied: 0, rejected: 0, none: 0 };
    for (const d of devices) counts[d.state]++;
    return c.json({ counts, devices }, 200, { 'cache-control': 'no-store' });
  });

  app.post('/commands', async (c) => {
    const b = check(CommandBody, await readJson(c), 'body');
    const commands = op(() => queueCommand(registry, store, b.target, b.command, actor(c), b.ttlSeconds !== undefined ? b.ttlSeconds * 1000 : undefined));
    logger.info({ requestId: c.get('requestId'), commands: commands.map((x) => x.id), kind: b.command.kind }, 'commands queued');
    return c.json({ commands }, 201);
  });

  app.get('/commands', (c) => {
    const q = check(CommandsQuery, c.req.query(), 'query');
    return c.json({ commands: store.listCommands({ deviceId: q.device, limit: q.limit }) }, 200, { 'cache-control': 'no-store' });
  });

  app.get('/commands/:id', (c) => {
    const id = check(CommandId, c.req.param('id'), 'command id');
    return c.json({ command: op(() => getCommand(store, id)) }, 200, { 'cache-control': 'no-store' });
  });
  return app;
}
