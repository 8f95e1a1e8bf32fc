// The evidence log's settings, from the environment (README "Configuration"):
//   SONGCHECK_EVIDENCE_DIR             where the per-site daily logs live (default <SONGCHECK_DATA_DIR>/evidence)
//   SONGCHECK_EVIDENCE_RETENTION_DAYS  day files older than this are deleted; their heads stay (default 800:
//                                      two school years and a dispute)
//   SONGCHECK_EVIDENCE_WEBHOOK_URL     optional: every daily chain head and every refused signature is POSTed
//                                      here as JSON, so a third party holds a copy
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../config-error.ts';

export interface EvidenceConfig {
  dir: string;
  retentionDays: number;
  webhookUrl?: string;
}

export const DEFAULT_RETENTION_DAYS = 800;

const opt = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const shape = z.object({
  SONGCHECK_EVIDENCE_DIR: opt(z.string().trim().min(1)),
  SONGCHECK_EVIDENCE_RETENTION_DAYS: opt(z.coerce.number().int().min(1, 'must be at least 1 day').max(36_500)),
  SONGCHECK_EVIDENCE_WEBHOOK_URL: opt(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
});

export function loadEvidenceConfig(dataDir: string, env: NodeJS.ProcessEnv = process.env): EvidenceConfig {
  const parsed = shape.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`));
  const v = parsed.data;
  return {
    dir: path.resolve(v.SONGCHECK_EVIDENCE_DIR ?? path.join(dataDir, 'evidence')),
    retentionDays: v.SONGCHECK_EVIDENCE_RETENTION_DAYS ?? DEFAULT_RETENTION_DAYS,
    ...(v.SONGCHECK_EVIDENCE_WEBHOOK_URL ? { webhookUrl: v.SONGCHECK_EVIDENCE_WEBHOOK_URL } : {}),
  };
}
