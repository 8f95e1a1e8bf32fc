// Verdicts as `compliance` points (docs/data-model.md): one per site, period and criterion, plus one
// `overall`. Tags and timestamp are fixed by site, profile and period, so recomputing overwrites.
import { Point } from '@influxdata/influxdb-client';
import { normalizeTagValue } from '../influx/points.ts';
import type { ComplianceRun, SiteVerdict } from './engine.ts';
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
        .stringField('reason', c.reason);
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
    points.push(overall);
  }
  return points;
}
