// The alerts file (YAML): rules, channels, delivery, digest. Validated with zod; every problem is reported
// at once as `path: reason`, and a rule's params are checked by its kind's own schema. `${VAR}` in a
// value is taken from the environment, so secrets stay out of the file.
import fs from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { GENERATE_SECRET, secretWeakness } from '../auth/secret-strength.ts';
import { RULE_KINDS } from './rules/index.ts';

const Lang = z.enum(['en', 'vi']);
const Id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 of a-z, 0-9, _ and -, starting with a letter or digit');
const Url = z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http:// or https:// URL');

// The webhook's HMAC key: a generated secret, as the collector's own (auth/secret-strength.ts).
const GeneratedSecret = z.string().superRefine((v, ctx) => {
  const weakness = secretWeakness(v);
  if (weakness) ctx.addIssue({ code: 'custom', message: `${weakness}; ${GENERATE_SECRET}` });
});

const base = { id: Id, lang: Lang.default('vi'), enabled: z.boolean().default(true) };
export const ChannelConfig = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('webhook'), url: Url, secret: GeneratedSecret }).strict(),
  z.object({ ...base, type: z.literal('telegram'), botToken: z.string().min(1), chatId: z.union([z.string().min(1), z.number().int()]), baseUrl: Url.default('https://api.telegram.org') }).strict(),
  z.object({ ...base, type: z.literal('slack'), url: Url }).strict(),
  z.object({
    ...base,
    type: z.literal('smtp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(587),
    /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
    secure: z.boolean().default(false),
    requireTls: z.boolean().default(false),
    user: z.string().optional(),
    password: z.string().optional(),
    from: z.string().min(3),
    to: z.array(z.string().min(3)).min(1),
  }).strict(),
]);
export type ChannelConfig = z.output<typeof ChannelConfig>;

const Group = z
  .object({
    by: z.enum(['commune', 'operator']),
    /** This many sites of one commune/operator firing the rule within the window make one message. */
    minSites: z.number().int().min(2).max(10_000).default(5),
    windowMinutes: z.number().int().min(1).max(24 * 60).default(30),
  })
  .strict();

export const RuleConfig = z
  .object({
    id: Id,
    kind: z.string(),
    enabled: z.boolean().default(true),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    /** pending → firing once the raise condition has held this long (0: at the first evaluation). */
    raiseAfterMinutes: z.number().min(0).max(7 * 24 * 60).default(0),
    /** firing → resolved after this many consecutive evaluations meeting the clear condition. */
    clearAfterChecks: z.number().int().min(1).max(1000).default(2),
    /** A firing, unacknowledged alert is sent again this often (0: never). */
    renotifyMinutes: z.number().min(0).max(30 * 24 * 60).default(240),
    /** Hold notifications outside school time; an alert still firing when school starts is sent then. */
    quietOutsideSchool: z.boolean().default(true),
    group: Group.optional(),
    /** Channel ids; absent = every channel. */
    channels: z.array(Id).optional(),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const Delivery = z
  .object({
    maxAttempts: z.number().int().min(1).max(100).default(8),
    baseDelaySeconds: z.number().min(0).max(3600).default(30),
    maxDelaySeconds: z.number().min(1).max(86_400).default(3600),
    /** A channel whose last this-many deliveries failed is reported through the others. */
    failingAfter: z.number().int().min(1).max(100).default(3),
    timeoutSeconds: z.number().min(1).max(120).default(15),
  })
  .strict();

export const AlertsFile = z
  .object({
    /** Grafana base URL; messages link to `<grafanaUrl>/d/songcheck-site?var-site=CODE`. */
    grafanaUrl: Url.default('http://localhost:3000'),
    evaluateEverySeconds: z.number().int().min(10).max(3600).default(60),
    digest: z.object({ enabled: z.boolean().default(true), atLocal: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM').default('17:30') }).strict().default({ enabled: true, atLocal: '17:30' }),
    delivery: Delivery.default(Delivery.parse({})),
    channels: z.array(ChannelConfig).default([]),
    rules: z.array(RuleConfig).default([]),
  })
  .strict();

export type RuleConfig = z.output<typeof RuleConfig>;
export type AlertsConfig = z.output<typeof AlertsFile>;

export class AlertsConfigError extends Error {
  constructor(readonly problems: string[], source: string) {
    super(`invalid alerts file ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'AlertsConfigError';
  }
}

const where = (path: PropertyKey[]) => path.map(String).join('.') || '(top level)';

function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') problems.push(`${path}: environment variable ${name} is not set`);
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${path}.${i}`, problems));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, path ? `${path}.${k}` : k, problems)]));
  return value;
}

/** Validates a parsed alerts document; throws AlertsConfigError listing every problem. */
export function parseAlertsConfig(doc: unknown, source = '(inline)', env: NodeJS.ProcessEnv = process.env): AlertsConfig {
  const problems: string[] = [];
  const expanded = substituteEnv(doc ?? {}, env, '', problems);
  const parsed = AlertsFile.safeParse(expanded);
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => `${where(i.path)}: ${i.message}`));
  if (parsed.success) {
    const config = parsed.data;
    const channelIds = new Set<string>();
    config.channels.forEach((c, i) => {
      if (channelIds.has(c.id)) problems.push(`channels.${i}.id: "${c.id}" is used twice`);
      channelIds.add(c.id);
    });
    const ruleIds = new Set<string>();
    config.rules.forEach((r, i) => {
      if (ruleIds.has(r.id)) problems.push(`rules.${i}.id: "${r.id}" is used twice`);
      ruleIds.add(r.id);
      const kind = RULE_KINDS[r.kind];
      if (!kind) {
        problems.push(`rules.${i}.kind: unknown kind "${r.kind}"; one of ${Object.keys(RULE_KINDS).join(', ')}`);
        return;
      }
      const p = kind.params.safeParse(r.params);
      if (!p.success) problems.push(...p.error.issues.map((issue) => `rules.${i}.params.${where(issue.path)}: ${issue.message}`));
      else r.params = p.data as Record<string, unknown>;
      for (const c of r.channels ?? []) if (!channelIds.has(c)) problems.push(`rules.${i}.channels: no channel "${c}"`);
    });
    if (problems.length === 0) return config;
  }
  throw new AlertsConfigError(problems, source);
}

export function loadAlertsConfig(file: string, env: NodeJS.ProcessEnv = process.env): AlertsConfig {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AlertsConfigError([`cannot read: ${(error as Error).message}`], file);
  }
  return parseAlertsConfig(doc, file, env);
}
