// Types shared by the app, its routes and its middleware (kept apart to avoid import cycles).
import type { Logger } from 'pino';
import type { Alerts } from './alerts/service.ts';
import type { GuardOptions, IngestGuards } from './guards/guards.ts';
import type { InfluxWriter } from './influx/writer.ts';
import type { Limits } from './http/rate-limit.ts';
import type { Registry } from './registry/registry.ts';
import type { AdminGate } from './auth/admin-gate.ts';

export type { AppEnv } from './http/env.ts';
import type { ThroughputService } from './throughput/service.ts';
import type { ControlHub } from './control/hub.ts';
import type { ComplianceEngine } from './compliance/engine.ts';
import type { Profiles } from './school/profiles.ts';
import type { SchoolCalendar } from './school/calendar.ts';
import type { EvidenceService } from './evidence/service.ts';
import type { ConsoleSettings } from './console/config.ts';

export interface AppDeps {
  registry: Registry;
  writer: InfluxWriter;
  logger: Logger;
  /** Epoch ms; injectable so tests can pin "now" (future-timestamp checks, uptime, rate limits). */
  clock?: () => number;
  version: string;
  /** Bearer token of the admin API (`/api/v1/admin/...`); compared in constant time, never logged. */
  adminToken: string;
  /** Announced to agents in every measurements answer (SONGCHECK_RECOMMENDED_AGENT_VERSION). */
  recommendedAgentVersion?: string;
  /** Cap on request bodies, before and after decompression. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Rate limits; each field defaults to DEFAULT_LIMITS. */
  limits?: Partial<Limits>;
  /** The ingest guards' budgets (series budget per device, ...); see collector/guards/. */
  guardOptions?: GuardOptions;
  /** Take the client address from the last X-Forwarded-For entry (set it only behind a reverse proxy). */
  trustProxy?: boolean;
  /** The URL agents use, printed on enrollment sheets. */
  publicUrl?: string;
  /** The ndt7 and multi-stream HTTP test service (collector/throughput/); without it those routes are absent. */
  throughput?: Pick<ThroughputService, 'tokens' | 'store' | 'stats'> & Partial<Pick<ThroughputService, 'serverStates'>>;
  /** The agents' control channel (collector/control/hub.ts), for its figures in /healthz. */
  control?: Pick<ControlHub, 'stats'>;
  /** The alert engine's state (collector/alerts/); without it the alert admin routes are absent. */
  alerts?: Alerts;
  /** Verdicts API (collector/compliance/); without it those routes are absent. */
  compliance?: { engine: ComplianceEngine; profiles: Profiles; calendar?: SchoolCalendar; /** Read-only token for verdicts and reports (SONGCHECK_REPORT_TOKEN). */ reportToken?: string };
  /** Signed results, the evidence log and packs (collector/evidence/); without it results are stored unchecked and unlogged. */
  evidence?: EvidenceService;
  /** The web console under /console (collector/console/); without it the console is absent. */
  console?: { settings: ConsoleSettings };
}

/** What routes receive: the dependencies with every default filled in. */
export interface ResolvedDeps extends AppDeps {
  clock: () => number;
  maxBodyBytes: number;
  limits: Limits;
  trustProxy: boolean;
  /** The one admin gate (collector/auth/admin-gate.ts), already mounted on /api/v1/admin/*; other routes use its reader. */
  gate: AdminGate;
  /** Dead-letter store, series budget, site tag versions, clock corrections (one per app). */
  guards: IngestGuards;
}
