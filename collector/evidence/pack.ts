// An evidence pack: one JSON-lines file with everything needed to check a site's verdict for a period
// without trusting the collector (docs/evidence.md "Pack"): the daily logs (their lines verbatim), the
// recorded chain heads, the devices with their keys and the audit entries that registered and revoked
// them, the calendar, the resolved profile, the method, the collector's verdict and a README (vi/en).
// bin/songcheck-verify.mjs reads it with plain Node.
import type { ComplianceEngine } from '../compliance/engine.ts';
import type { ComplianceRun } from '../compliance/verdicts.ts';
import type { SchoolCalendar } from '../school/calendar.ts';
import type { Period } from '../compliance/periods.ts';
import type { Profiles } from '../school/profiles.ts';
import { addDays } from '../school/zone.ts';
import type { AuditEntry, Registry } from '../registry/registry.ts';
import type { EvidenceLog } from './log.ts';
import type { EvidenceStore } from './store.ts';
import { PACK_README } from './pack-readme.ts';

export const PACK_FORMAT = 'songcheck-evidence-pack';
export const PACK_VERSION = 1;

/**
 * Results may reach the collector long after they were measured (an agent spools through an outage), so a
 * pack holds the logs of the period's days and of this many days after it.
 */
export const LATE_DAYS = 45;

export interface PackDeps {
  registry: Pick<Registry, 'getSite' | 'listDevices' | 'auditLog'>;
  store: EvidenceStore;
  log: EvidenceLog;
  engine: Pick<ComplianceEngine, 'evaluate'>;
  calendar: SchoolCalendar;
  profiles: Profiles;
  collectorVersion: string;
  clock?: () => number;
}

export class PackError extends Error {}

export interface PackSummary {
  site: string;
  period: string;
  verdict: string;
  days: number;
  entries: number;
  bytes: number;
}

/** Builds the pack's lines (each a complete line without its newline). */
export async function buildPack(deps: PackDeps, siteCode: string, period: Period): Promise<{ text: string; summary: PackSummary }> {
  const site = deps.registry.getSite(siteCode);
  if (!site) throw new PackError(`no site with code ${siteCode}`);
  const now = (deps.clock ?? Date.now)();
  const run: ComplianceRun = await deps.engine.evaluate(period, { sites: [siteCode] });
  const verdict = run.sites.find((s) => s.site === siteCode);
  if (!verdict) throw new PackError(`the compliance engine gave no verdict for ${siteCode}`);
  const out: string[] = [];
  const rec = (type: string, body: Record<string, unknown>) => out.push(JSON.stringify({ type, ...body }));

  const lastDay = minDate(addDays(period.lastDate, LATE_DAYS), deps.log.dayOf(now));
  rec(PACK_FORMAT, { version: PACK_VERSION, site: siteCode, period: period.label, firstDate: period.firstDate, lastDate: period.lastDate, logUntil: lastDay, createdAt: now, collectorVersion: deps.collectorVersion });
  for (const [lang, text] of Object.entries(PACK_README)) rec('readme', { lang, text });
  rec('site', { site: { code: site.code, name: site.name, commune: site.commune, operator: site.operator, linkType: site.linkType, groups: site.groups, students: site.students, profile: site.profile } });

  const devices = deps.registry.listDevices({ siteCode, includeRevoked: true });
  const subjects = new Set<string>([siteCode]);
  for (const d of devices) {
    subjects.add(d.id);
    const key = deps.store.getKey(d.id, false);
    rec('device', {
      device: { id: d.id, siteCode: d.siteCode, enrolledAt: d.enrolledAt, hostname: d.hostname, platform: d.platform, agentVersion: d.agentVersion, revokedAt: d.revokedAt, revokedReason: d.revokedReason, counters: deps.store.counters(d.id) },
      key: key ?? null,
    });
  }
  const audit: AuditEntry[] = [];
  for (const s of subjects) audit.push(...deps.registry.auditLog({ subject: s, limit: 10_000 }));
  for (const entry of audit.sort((a, b) => a.id - b.id)) rec('audit', { entry });

  rec('calendar', { timeZone: deps.calendar.timeZone, file: deps.calendar.file });
  rec('profile', { profile: deps.profiles.resolve(site), ...(deps.profiles.readiness ? { readiness: deps.profiles.readiness } : {}) });
  rec('method', { text: METHOD });
  rec('verdict', { period: run.period, generatedAt: run.generatedAt, verdict });

  for (const h of deps.store.heads(siteCode, period.firstDate, lastDay)) rec('head', { ...h });
  let entries = 0;
  let days = 0;
  for (const date of deps.log.days(siteCode)) {
    if (date < period.firstDate || date > lastDay) continue;
    const lines = deps.log.readDay(siteCode, date);
    rec('day', { date, lines: lines.length });
    out.push(...lines);
    entries += lines.length;
    days++;
  }
  rec('end', { days, entries });
  const text = `${out.join('\n')}\n`;
  return { text, summary: { site: siteCode, period: period.label, verdict: verdict.verdict, days, entries, bytes: Buffer.byteLength(text) } };
}

const minDate = (a: string, b: string) => (a < b ? a : b);

const METHOD = [
  'Only results measured in the site\'s school hours of the period count (the included calendar).',
  'download/upload: throughput results with code ok, not against M-Lab, field mbps; latency: tcp results (rtt_median_ms, jitter_ms, loss_pct);',
  'uptime: (Σ checks_up + Σ checks_collector_down) / Σ checks × 100 over uptime slots starting in school hours; observed: the most-observing device\'s Σ observed_s over the school seconds;',
  'outage minutes: link_down and dns_down outages (starting up to 31 days before the period), merged, clipped to school hours.',
  'median: middle value (mean of the two middle ones for an even count); p95: nearest rank, index floor(n·0.95 + 0.5) − 1; mean: arithmetic; share_at_least: 100 × tests ≥ floor / tests.',
  'Values are rounded to 6 decimals before comparing; a criterion passes at its threshold; fewer samples than minSamples (at least 1) is INSUFFICIENT.',
  'Overall: any FAIL → FAIL, else any INSUFFICIENT → INSUFFICIENT, else PASS. Details: docs/compliance.md.',
].join('\n');
