// Verdicts as `compliance` points (docs/data-model.md): one per site, period and criterion, plus one
// `overall`. Tags and timestamp are fixed by site, profile and period, so recomputing overwrites.
import { Point } from '@influxdata/influxdb-client';
import { normalizeTagValue } from '../influx/points.ts';
import type { ComplianceRun, SiteVerdict } from './verdicts.ts';
import { VERDICT_CODE } from './judge.ts';

function base(run: ComplianceRun, v: SiteVerdict, criterion: string, at: number): Point {
  const p = new Point('compliance').timestamp(at);
  const tags: [string, string | undefined][] = [
    ['site', v.site],
    ['commune', v.commune],
    ['operator', v.operator],
    ['link_type', v.linkType],
    ['profile', v.profile],
    ['period_kind', run.period.kind],
    ['period', run.period.label],
    ['criterion', criterion],
  ];
  for (const [k, value] of tags) {
    const clean = normalizeTagValue(value);
    if (clean !== undefined) p.tag(k, clean);
  }
  return p;
}

export function complianceToPoints(run: ComplianceRun, at: number): Point[] {
  const points: Point[] = [];
  for (const v of run.sites) {
    for (const c of v.criteria) {
      const p = base(run, v, c.id, at)
        .stringField('verdict', c.verdict)
        .floatField('verdict_code', VERDICT_CODE[c.verdict])
        .floatField('samples', c.samples)
        .floatField('min_samples', c.minSamples)
        .floatField('threshold', c.threshold)
        .stringField('reason', c.reason)
        .booleanField('informational', c.informational === true);
      if (c.value !== undefined) p.floatField('value', c.value);
      if (c.mean !== undefined) p.floatField('mean', c.mean);
      points.push(p);
    }
    // overall: samples = criteria with enough evidence, min_samples = criteria, value = criteria passed,
    // threshold = criteria (all must pass); plus the uptime figures of docs/uptime.md.
    const judged = v.criteria.filter((c) => c.verdict !== 'INSUFFICIENT').length;
    const overall = base(run, v, 'overall', at)
      .stringField('verdict', v.verdict)
      .floatField('verdict_code', VERDICT_CODE[v.verdict])
      .floatField('samples', judged)
      .floatField('min_samples', v.criteria.length)
      .floatField('value', v.criteria.filter((c) => c.verdict === 'PASS').length)
      .floatField('threshold', v.criteria.length)
      .stringField('reason', v.reasons.join(' '))
      .floatField('outage_minutes', v.outageMinutes)
      .floatField('school_hours', v.schoolHours);
    if (v.uptimePct !== undefined) overall.floatField('uptime_pct', v.uptimePct);
    if (v.observedPct !== undefined) overall.floatField('observed_pct', v.observedPct);
    // The period's readiness medians, so that a per-site readiness table reads one point per site (last())
    // instead of a median over every test of the range: 2.3 s at 2 000 sites × 30 days (bench/README.md).
    const r = v.readiness;
    if (r) {
      overall.floatField('readiness_tests', r.tests);
      if (r.videoClassesMedian !== undefined) overall.floatField('video_classes_median', r.videoClassesMedian);
      if (r.videoCallGradeMedian !== undefined) overall.floatField('video_call_grade_median', r.videoCallGradeMedian);
      if (r.streamingGradeMedian !== undefined) overall.floatField('streaming_grade_median', r.streamingGradeMedian);
    }
    points.push(overall);
  }
  return points;
}

/**
 * Online-class readiness of every test of the period (docs/data-model.md `readiness`): one point per test at
 * the test's own time, tagged by site and device, so recomputing a period overwrites instead of adding.
 */
export function readinessToPoints(run: ComplianceRun): Point[] {
  const points: Point[] = [];
  for (const v of run.sites) {
    for (const t of v.readiness?.perTest ?? []) {
      const p = new Point('readiness').timestamp(t.at);
      for (const [k, value] of [['site', v.site], ['device', t.device], ['commune', v.commune], ['operator', v.operator], ['link_type', v.linkType]] as const) {
        const clean = normalizeTagValue(value);
        if (clean !== undefined) p.tag(k, clean);
      }
      const r = t.readiness;
      if (r.videoClasses !== undefined) p.floatField('video_classes', r.videoClasses);
      if (r.limitedBy) p.stringField('limited_by', r.limitedBy);
      if (r.videoCall) p.floatField('video_call_grade', r.videoCall.grade).floatField('video_call_points', r.videoCall.points).stringField('video_call', r.videoCall.name);
      if (r.streaming) p.floatField('streaming_grade', r.streaming.grade).floatField('streaming_points', r.streaming.points).stringField('streaming', r.streaming.name);
      const f = t.figures;
      for (const [k, x] of [['download_mbps', f.downMbps], ['upload_mbps', f.upMbps], ['idle_rtt_ms', f.idleRttMs], ['loaded_rtt_ms', f.loadedRttMs], ['jitter_ms', f.jitterMs], ['loss_pct', f.lossPct]] as const) {
        if (x !== undefined) p.floatField(k, x);
      }
      points.push(p);
    }
  }
  return points;
}
