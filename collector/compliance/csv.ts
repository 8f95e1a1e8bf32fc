// Verdicts as CSV: one row per site and criterion, the `overall` row first for each site, so a
// spreadsheet can filter on criterion = overall for the site list or keep every criterion's evidence.
import { stringify } from 'csv-stringify/sync';
import type { ComplianceRun } from './verdicts.ts';

export const CSV_COLUMNS = [
  'period', 'site', 'name', 'commune', 'operator', 'link_type', 'profile', 'students', 'criterion', 'verdict',
  'samples', 'min_samples', 'value', 'mean', 'comparison', 'threshold', 'uptime_pct', 'outage_minutes', 'observed_pct', 'school_hours', 'reason',
] as const;

// Numbers stay numbers, so formula escaping (escape_formulas) leaves a negative figure as it is.
const cell = (x: number | string | undefined) => (x === undefined ? '' : x);

export function complianceCsv(run: ComplianceRun, opts: { bom?: boolean } = {}): string {
  const rows: (string | number)[][] = [];
  for (const v of run.sites) {
    const common = [run.period.label, v.site, v.name, cell(v.commune), cell(v.operator), cell(v.linkType), v.profile, cell(v.students)];
    rows.push([
      ...common, 'overall', v.verdict, '', '', '', '', '', '',
      cell(v.uptimePct), cell(v.outageMinutes), cell(v.observedPct), cell(v.schoolHours), v.reasons.join(' '),
    ]);
    for (const c of v.criteria) {
      rows.push([...common, c.id, c.verdict, cell(c.samples), cell(c.minSamples), cell(c.value), cell(c.mean), c.comparison, cell(c.threshold), '', '', '', '', c.reason]);
    }
  }
  // A BOM lets Excel open UTF-8 (Vietnamese names) correctly; scripts can ask for none.
  return (opts.bom === false ? '' : '\ufeff') + stringify(rows, { header: true, columns: [...CSV_COLUMNS], escape_formulas: true });
}
