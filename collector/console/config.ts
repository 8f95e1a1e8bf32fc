// The console's settings, from the environment (README "Configuration"); collector/config.ts reads them
// with the rest of `serve`'s variables, so a mistake is listed with every other problem at start:
//   SONGCHECK_CONSOLE_TILES              map tile URL template ({z}/{x}/{y}), or "off" (default): the map
//                                        then shows the sites on a plain background, fully offline
//   SONGCHECK_CONSOLE_TILES_ATTRIBUTION  credit line shown on the map (default: OpenStreetMap contributors)
//   SONGCHECK_GRAFANA_URL                Grafana's address; when set, the console links into its dashboards
//   SONGCHECK_CONSOLE_SESSION_HOURS      how long a console sign-in lasts (default 12)
import { z } from 'zod';
import { DEFAULT_SESSION_HOURS } from './session.ts';

export interface ConsoleSettings {
  tiles?: { url: string; attribution: string };
  grafanaUrl?: string;
  sessionHours: number;
}

const opt = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

export const CONSOLE_ENV = {
  SONGCHECK_CONSOLE_TILES: opt(
    z.string().trim().refine((v) => v === 'off' || (/^https?:\/\/\S+$/.test(v) && v.includes('{z}') && v.includes('{x}') && v.includes('{y}')), 'must be "off" or a tile URL template with {z}, {x} and {y}'),
  ),
  SONGCHECK_CONSOLE_TILES_ATTRIBUTION: opt(z.string().trim().max(300, 'must be at most 300 characters')),
  SONGCHECK_GRAFANA_URL: opt(z.string().trim().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')),
  SONGCHECK_CONSOLE_SESSION_HOURS: opt(z.coerce.number().min(0.1, 'must be at least 0.1').max(720, 'must be at most 720')),
};

type ConsoleEnv = { [K in keyof typeof CONSOLE_ENV]: z.output<(typeof CONSOLE_ENV)[K]> };

export function consoleSettings(v: Partial<ConsoleEnv>): ConsoleSettings {
  return {
    ...(v.SONGCHECK_CONSOLE_TILES && v.SONGCHECK_CONSOLE_TILES !== 'off'
      ? { tiles: { url: v.SONGCHECK_CONSOLE_TILES, attribution: v.SONGCHECK_CONSOLE_TILES_ATTRIBUTION ?? '© OpenStreetMap contributors' } }
      : {}),
    ...(v.SONGCHECK_GRAFANA_URL ? { grafanaUrl: v.SONGCHECK_GRAFANA_URL.replace(/\/+$/, '') } : {}),
    sessionHours: v.SONGCHECK_CONSOLE_SESSION_HOURS ?? DEFAULT_SESSION_HOURS,
  };
}
