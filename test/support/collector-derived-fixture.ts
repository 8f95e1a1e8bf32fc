// The `presence` and `compliance` points of the Grafana known dataset, built by the collector's own point
// builders (collector/control/presence.ts, collector/compliance/points.ts) and written through its writer, so
// the dashboards are tested against exactly what the engines store. Only the figures are chosen here: the
// dataset is hours long, and a month of evidence per verdict would make the test slow without testing Grafana.
import type { Point } from '@influxdata/influxdb-client';
import type { ComplianceRun, ReadinessSummary } from '../../collector/compliance/verdicts.ts';
import { complianceToPoints } from '../../collector/compliance/points.ts';
import type { InfluxWriter } from '../../collector/influx/writer.ts';
import type { Site } from '../../collector/registry/site.ts';
import { presencePoint as collectorPresencePoint } from '../../collector/control/presence.ts';

export interface SiteTags {
  site: string;
  commune?: string;
  operator?: string;
  link_type?: string;
}

export interface PresenceFixture extends SiteTags {
  device: string;
  at: number;
  connected: boolean;
  last_seen_age_s: number;
  clock_offset_ms?: number;
  agent_version?: string;
  revoked: boolean;
}

export interface ComplianceFixture extends SiteTags {
  profile: string;
  period_kind: 'day' | 'week' | 'month' | 'rolling30';
  period: string;
  criterion: string;
  at: number;
  verdict: 'PASS' | 'FAIL' | 'INSUFFICIENT';
  samples: number;
  min_samples: number;
  value?: number;
  mean?: number;
  threshold: number;
  reason: string;
  /** The period's readiness (overall points only), as collector/compliance/readiness-summary.ts makes it. */
  readiness?: ReadinessSummary;
}

export function presencePoint(f: PresenceFixture): Point {
  const site = { code: f.site, commune: f.commune, operator: f.operator, linkType: f.link_type as Site['linkType'] };
  const fields = { connected: f.connected, lastSeenAt: f.at - f.last_seen_age_s * 1000, revoked: f.revoked, clockOffsetMs: f.clock_offset_ms, agentVersion: f.agent_version };
  return collectorPresencePoint(f.device, site, fields, f.at, f.at);
}

/** One criterion's point (or the `overall` point) of a one-site compliance run. */
export function compliancePoint(f: ComplianceFixture): Point {
  const overall = f.criterion === 'overall';
  const criterion = {
    id: f.criterion, label: f.criterion, metric: 'download_mbps' as const, statistic: 'median' as const, comparison: '>=' as const,
    threshold: f.threshold, samples: f.samples, minSamples: f.min_samples, verdict: f.verdict, reason: f.reason,
    ...(f.value !== undefined ? { value: f.value } : {}), ...(f.mean !== undefined ? { mean: f.mean } : {}),
  };
  const run: ComplianceRun = {
    period: { label: f.period, kind: f.period_kind, firstDate: '', lastDate: '', start: f.at, end: f.at, judgedUntil: f.at, complete: true, timeZone: 'Asia/Ho_Chi_Minh' },
    generatedAt: f.at,
    counts: { PASS: 0, FAIL: 0, INSUFFICIENT: 0 },
    queryMs: 0,
    sites: [{
      site: f.site, name: f.site, commune: f.commune, operator: f.operator, linkType: f.link_type, groups: [], profile: f.profile,
      verdict: f.verdict, criteria: overall ? [] : [criterion], outageMinutes: 0, schoolHours: 0, reasons: f.reason ? [f.reason] : [], warnings: [],
      ...(f.readiness ? { readiness: f.readiness } : {}),
    }],
  };
  const points = complianceToPoints(run, f.at);
  return overall ? points[points.length - 1]! : points[0]!;
}

/** Writes presence and compliance points the way the collector's engines will (same writer, same shapes). */
export async function writeCollectorDerivedFixture(writer: InfluxWriter, presence: PresenceFixture[], compliance: ComplianceFixture[]): Promise<void> {
  await writer.write([...presence.map(presencePoint), ...compliance.map(compliancePoint)]);
}
