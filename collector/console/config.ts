// The console's settings, from the environment (README "Configuration"):
//   SONGCHECK_CONSOLE_TILES              map tile URL template ({z}/{x}/{y}), or "off" (default): the map
//                                        then shows the sites on a plain background, fully offline
//   SONGCHECK_CONSOLE_TILES_ATTRIBUTION  credit line shown on the map (default: OpenStreetMap contributors)
//   SONGCHECK_GRAFANA_URL                Grafana's address; when set, the console links into its dashboards
//   SONGCHECK_CONSOLE_SESSION_HOURS      how long a console sign-in lasts (default 12)
import { z } from 'zod';
import { ConfigError } from '../config.ts';
import { DEFAULT_SESSION_HOURS } from './session.ts';

export interface ConsoleSettings {
  tiles?: { url: string; attribution: string };
  grafanaUrl?: string;
  sessionHours: number;
}

const opt = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
const httpUrl = z.string().trim().refine((v) => /^https?:\/\/[^\s]+$/.test(v), 'must be an http(s) URL');

const shape = z.object({
  SONGCHECK_CONSOLE_TILES: opt(z.string().trim().refine((v) => v === 'off' || (/^https?:\/\/\S+$/.test(v) && v.includes('{z}') && v.includes('{x}') && v.includes('{y}')), 'must be "off" or a tile URL template with {z}, {x} and {y}')),
  SONGCHECK_CONSOLE_TILES_ATTRIBUTION: opt(z.string().trim().max(300)),
  SONGCHECK_GRAFANA_URL: opt(httpUrl),
  SONGCHECK_CONSOLE_SESSION_HOURS: opt(z.coerce.number().min(0.1, 'must be at least 0.1').max(24 * 30, 'must be at most 720')),
});

export function loadConsoleSettings(env: NodeJS.ProcessEnv = process.env): ConsoleSettings {
  const parsed = shape.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`));
  const v = parsed.data;
  return {
    ...(v.SONGCHECK_CONSOLE_TILES && v.SONGCHECK_CONSOLE_TILES !== 'off'
      ? { tiles: { url: v.SONGCHECK_CONSOLE_TILES, attribution: v.SONGCHECK_CONSOLE_TILES_ATTRIBUTION ?? '© OpenStreetMap contributors' } }
      : {}),
    ...(v.SONGCHECK_GRAFANA_URL ? { grafanaUrl: v.SONGCHECK_GRAFANA_URL.replace(/\/+$/, '') } : {}),
    sessionHours: v.SONGCHECK_CONSOLE_SESSION_HOURS ?? DEFAULT_SESSION_HOURS,
  };
}
