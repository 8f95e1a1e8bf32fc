// The province's monthly report as one printable HTML page (Vietnamese by default, English on request):
// a summary by commune and operator, the failing sites with their reasons, and the method.
import type { ComplianceRun, SiteVerdict } from './verdicts.ts';
import type { Verdict } from './judge.ts';
import { fmt } from './judge.ts';
import type { Profiles } from '../school/profiles.ts';
import { type Lang, TEXT } from './report-text.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
const VERDICTS: Verdict[] = ['PASS', 'FAIL', 'INSUFFICIENT'];

function localTime(ms: number, timeZone: string, lang: Lang): string {
  return new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone, dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
}

function summaryTable(sites: SiteVerdict[], key: (s: SiteVerdict) => string | undefined, heading: string, t: (typeof TEXT)[Lang]): string {
  const groups = new Map<string, Record<Verdict, number>>();
  for (const s of sites) {
    const k = key(s) ?? t.none;
    const row = groups.get(k) ?? { PASS: 0, FAIL: 0, INSUFFICIENT: 0 };
    row[s.verdict]++;
    groups.set(k, row);
  }
  const rows = [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b, 'vi'))
    .map(([k, r]) => `<tr><td>${esc(k)}</td><td class="n">${r.PASS + r.FAIL + r.INSUFFICIENT}</td>${VERDICTS.map((v) => `<td class="n">${r[v]}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr><th>${esc(heading)}</th><th>${t.sites}</th>${VERDICTS.map((v) => `<th>${t[v]}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

function siteTable(sites: SiteVerdict[], t: (typeof TEXT)[Lang]): string {
  if (sites.length === 0) return `<p>${t.noneFailing}</p>`;
  const rows = sites
    .map((s) => {
      const uptime = s.uptimePct === undefined ? '–' : `${fmt(s.uptimePct)} %`;
      const observed = s.observedPct === undefined ? '–' : `${fmt(s.observedPct)} %`;
      const r = s.readiness;
      const readiness = r ? [t.readiness(r.videoClassesMedian === undefined ? '–' : fmt(r.videoClassesMedian), r.tests, r.videoCallGrades.slice(2).reduce((a, b) => a + b, 0))] : [];
      const reasons = [...s.reasons, ...readiness].map((x) => `<li>${esc(x)}</li>`).join('');
      return `<tr><td><b>${esc(s.site)}</b><br>${esc(s.name)}</td><td>${esc(s.commune ?? t.none)}</td><td>${esc(s.operator ?? t.none)}</td><td>${esc(s.profile)}</td><td class="n">${uptime}</td><td class="n">${fmt(s.outageMinutes)}</td><td class="n">${observed}</td><td><ul>${reasons}</ul></td></tr>`;
    })
    .join('\n');
  return `<table><thead><tr><th>${t.site}</th><th>${t.commune}</th><th>${t.operator}</th><th>${t.profile}</th><th>${t.uptime}</th><th>${t.outage}</th><th>${t.observed}</th><th>${t.reasons}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function methodSection(run: ComplianceRun, profiles: Profiles, t: (typeof TEXT)[Lang]): string {
  const used = [...new Set(run.sites.map((s) => s.profile))].sort();
  const tables = used
    .map((name) => {
      const p = profiles.resolve({ code: '', profile: name });
      const rows = p.criteria
        .map((c) => `<tr><td>${esc(c.label)}</td><td>${c.higherIsBetter ? '≥' : '≤'} ${fmt(c.threshold)}${c.statistic === 'share_at_least' || c.metric.endsWith('_pct') ? ' %' : c.metric.endsWith('mbps') ? ' Mbit/s' : ' ms'}</td><td class="n">${c.minSamples[run.period.kind]}</td></tr>`)
        .join('');
      return `<h3>${esc(name)}</h3><p>${esc(p.description)}</p><table><thead><tr><th>${t.criterion}</th><th>${t.threshold}</th><th>${t.minSamples}</th></tr></thead><tbody>${rows}</tbody></table>`;
    })
    .join('\n');
  return `<h2>${t.method}</h2><ul>${t.methodText.map((m) => `<li>${esc(m)}</li>`).join('')}</ul><h2>${t.criteria}</h2>${tables}`;
}

export function renderReport(run: ComplianceRun, profiles: Profiles, lang: Lang = 'vi'): string {
  const t = TEXT[lang];
  const p = run.period;
  const total = run.sites.length;
  const counts = VERDICTS.map((v) => `<td class="n v-${v}">${run.counts[v]}</td>`).join('');
  const incomplete = p.complete ? '' : `<p class="warn">${t.incomplete} ${esc(localTime(p.judgedUntil, p.timeZone, lang))}.</p>`;
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>${t.title} — ${esc(p.label)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
th,td{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}td.n{text-align:right}
.v-PASS{background:#dfd}.v-FAIL{background:#fdd}.v-INSUFFICIENT{background:#eee}.warn{color:#a40}ul{margin:0;padding-left:1.2em}
@media print{body{margin:0}h2{page-break-after:avoid}tr{page-break-inside:avoid}}
</style></head><body>
<h1>${t.title}</h1>
<p>${t.period}: <b>${esc(p.label)}</b> (${esc(p.firstDate)} – ${esc(p.lastDate)}, ${esc(p.timeZone)}). ${t.generated}: ${esc(localTime(run.generatedAt, p.timeZone, lang))}.</p>
${incomplete}
<h2>${t.summary}</h2>
<table><thead><tr><th>${t.sites}</th>${VERDICTS.map((v) => `<th>${t[v]}</th>`).join('')}</tr></thead><tbody><tr><td class="n">${total}</td>${counts}</tr></tbody></table>
<h3>${t.byCommune}</h3>
${summaryTable(run.sites, (s) => s.commune, t.commune, t)}
<h3>${t.byOperator}</h3>
${summaryTable(run.sites, (s) => s.operator, t.operator, t)}
<h2>${t.failing}</h2>
${siteTable(run.sites.filter((s) => s.verdict === 'FAIL'), t)}
<h2>${t.insufficient}</h2>
${siteTable(run.sites.filter((s) => s.verdict === 'INSUFFICIENT'), t)}
${methodSection(run, profiles, t)}
</body></html>
`;
}
