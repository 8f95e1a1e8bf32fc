// FIXTURE, to be replaced: the `presence` and `compliance` measurements are written by collector engines that
// are built in parallel (control channel: presence; verdicts: compliance). Until they are merged, the Grafana
// tests write those points for their known dataset through the collector's own InfluxDB writer
// (collector/influx/writer.ts) with the client's Point, in exactly the shape docs/data-model.md fixes
// ("Measurements the collector writes itself"). When the engines land, switch these calls to the real engines.
import { Point } from '@influxdata/influxdb-client';
import type { InfluxWriter } from '../../collector/influx/writer.ts';

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
}

const VERDICT_CODE = { PASS: 1, FAIL: 0, INSUFFICIENT: -1 } as const;

function siteTags(p: Point, s: SiteTags): void {
  p.tag('site', s.site);
  if (s.commune) p.tag('commune', s.commune);
  if (s.operator) p.tag('operator', s.operator);
  if (s.link_type) p.tag('link_type', s.link_type);
}

export function presencePoint(f: PresenceFixture): Point {
  const p = new Point('presence');
  siteTags(p, f);
  p.tag('device', f.device);
  p.booleanField('connected', f.connected).floatField('last_seen_age_s', f.last_seen_age_s).booleanField('revoked', f.revoked);
  if (f.clock_offset_ms !== undefined) p.floatField('clock_offset_ms', f.clock_offset_ms);
  if (f.agent_version !== undefined) p.stringField('agent_version', f.agent_version);
  return p.timestamp(f.at);
}

export function compliancePoint(f: ComplianceFixture): Point {
  const p = new Point('compliance');
  siteTags(p, f);
  p.tag('profile', f.profile).tag('period_kind', f.period_kind).tag('period', f.period).tag('criterion', f.criterion);
  p.stringField('verdict', f.verdict).floatField('verdict_code', VERDICT_CODE[f.verdict]);
  p.floatField('samples', f.samples).floatField('min_samples', f.min_samples).floatField('threshold', f.threshold);
  if (f.value !== undefined) p.floatField('value', f.value);
  if (f.mean !== undefined) p.floatField('mean', f.mean);
  p.stringField('reason', f.reason);
  return p.timestamp(f.at);
}

/** Writes presence and compliance points the way the collector's engines will (same writer, same shapes). */
export async function writeCollectorDerivedFixture(writer: InfluxWriter, presence: PresenceFixture[], compliance: ComplianceFixture[]): Promise<void> {
  await writer.write([...presence.map(presencePoint), ...compliance.map(compliancePoint)]);
}
