// The sites list (search and filters) and one site's page: verdict per criterion with its evidence,
// charts, outages, devices and recent alerts.
import type { FC } from 'hono/jsx';
import type { AlertState } from '../../alerts/store.ts';
import { fmt } from '../../compliance/judge.ts';
import type { Site } from '../../registry/site.ts';
import { LINK_TYPES } from '../../registry/site.ts';
import type { DeviceHealth, Outage, SiteSeries, StoredCriterion, StoredVerdict } from '../data.ts';
import { age, dateTime } from '../i18n.ts';
import { Badge, BASE, ChangeForm, Empty, jsonData, Layout, type View } from '../layout.tsx';
import type { DeviceInfo, SiteFilter, SiteRow } from '../model.ts';
import { type PeriodChoice, PeriodPicker, VerdictCounts } from './overview.tsx';

export const PAGE_SIZE = 200;

const Select: FC<{ name: string; label: string; value?: string; options: string[]; any: string; labels?: Record<string, string> }> = (p) => (
  <label>
    {p.label}{' '}
    <select name={p.name}>
      <option value="">{p.any}</option>
      {p.options.map((o) => <option value={o} selected={o === p.value}>{p.labels?.[o] ?? o}</option>)}
    </select>
  </label>
);

export const SitesPage: FC<{
  v: View;
  period: PeriodChoice;
  filter: SiteFilter;
  all: SiteRow[];
  rows: SiteRow[];
  page: number;
  menus: { communes: string[]; operators: string[]; groups: string[] };
  now: number;
  query: string;
}> = ({ v, period, filter, all, rows, page, menus, now, query }) => {
  const shown = rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const pages = Math.ceil(rows.length / PAGE_SIZE);
  const p = encodeURIComponent(period.label);
  return (
    <Layout v={v} title={v.t.nav.sites}>
      <VerdictCounts v={v} rows={all} period={period.label} />
      <form method="get" action={`${BASE}/sites`} class="filters" id="site-filters">
        <label>{v.t.search} <input type="search" name="q" value={filter.q ?? ''} /></label>
        <Select name="commune" label={v.t.commune} value={filter.commune} options={menus.communes} any={v.t.any} />
        <Select name="operator" label={v.t.operator} value={filter.operator} options={menus.operators} any={v.t.any} />
        <Select name="link" label={v.t.linkType} value={filter.linkType} options={[...LINK_TYPES]} any={v.t.any} />
        <Select name="group" label={v.t.group} value={filter.group} options={menus.groups} any={v.t.any} />
        <Select name="verdict" label="Verdict" value={filter.verdict} options={['PASS', 'FAIL', 'INSUFFICIENT', 'NONE']} any={v.t.any} labels={v.t.verdict} />
        <label><input type="checkbox" name="silent" value="1" checked={filter.silent} /> {v.t.silentOnly}</label>
        <label>{v.t.period} <select name="period">{[...new Set([period.label, ...period.options])].map((o) => <option selected={o === period.label}>{o}</option>)}</select></label>
        <button type="submit">{v.t.filter}</button>
      </form>
      <p>{v.t.shown(rows.length, all.length)}</p>
      {shown.length === 0 ? <Empty text={v.t.noData} /> : (
        <div class="scroll">
          <table id="sites-table">
            <thead><tr><th>{v.t.code}</th><th>{v.t.name}</th><th>{v.t.commune}</th><th>{v.t.operator}</th><th>{v.t.linkType}</th><th>Verdict</th><th>{v.t.lastHeard}</th></tr></thead>
            <tbody>
              {shown.map((r) => (
                <tr class={r.silent ? 'silent' : ''}>
                  <td><a href={`${BASE}/sites/${r.site.code}?period=${p}`}>{r.site.code}</a></td>
                  <td>{r.site.name}</td>
                  <td>{r.site.commune ?? ''}</td>
                  <td>{r.site.operator ?? ''}</td>
                  <td>{r.site.linkType ?? ''}</td>
                  <td><Badge v={v} verdict={r.verdict?.verdict} /></td>
                  <td>{r.devices === 0 ? '–' : r.lastHeard ? v.t.ago(age(now - r.lastHeard, v.lang)) : v.t.never}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <p class="pages">
          {Array.from({ length: pages }, (_, i) => (i === page ? <b>{i + 1}</b> : <a href={`${BASE}/sites?${query}&page=${i + 1}`}>{i + 1}</a>))}
        </p>
      )}
    </Layout>
  );
};

const CRITERION_UNIT: Record<string, string> = { download: 'Mbit/s', upload: 'Mbit/s', rtt: 'ms', jitter: 'ms', loss: '%', uptime: '%' };
/** Criterion ids name their metric first (download_median, rtt_p95); a share is a percentage of tests. */
const unitOf = (criterion: string) => (criterion.includes('share') ? '%' : CRITERION_UNIT[criterion.split('_')[0] ?? ''] ?? '');
const meanUnitOf = (criterion: string) => CRITERION_UNIT[criterion.split('_')[0] ?? ''] ?? '';
const num = (x: number | undefined, unit = '') => (x === undefined ? '–' : `${fmt(x)}${unit ? ` ${unit}` : ''}`);

export const SitePage: FC<{
  v: View;
  period: PeriodChoice;
  site: Site;
  verdict?: StoredVerdict;
  criteria: StoredCriterion[];
  series: SiteSeries;
  outages: Outage[];
  devices: DeviceInfo[];
  health: Map<string, DeviceHealth>;
  alerts: AlertState[];
  now: number;
  grafana?: string;
}> = ({ v, period, site, verdict, criteria, series, outages, devices, health, alerts, now, grafana }) => (
  <Layout v={v} title={`${site.code} — ${site.name}`} scripts={['charts']}>
    <p class="facts">
      {[site.commune, site.province, site.operator, site.linkType, site.groups.join(', ')].filter(Boolean).join(' · ')}
      {grafana && <> · <a href={grafana} rel="noopener" target="_blank">{v.t.grafana}</a></>}
    </p>
    <PeriodPicker v={v} period={period} action={`${BASE}/sites/${site.code}`} />
    <section id="verdict">
      <h2>Verdict: <Badge v={v} verdict={verdict?.verdict} /></h2>
      {criteria.length === 0 ? <Empty text={v.t.notComputed} /> : (
        <div class="scroll">
          <table id="criteria">
            <thead><tr><th>{v.t.criterion}</th><th>Verdict</th><th>{v.t.statistic}</th><th>{v.t.mean}</th><th>{v.t.threshold}</th><th>{v.t.samples}</th><th>{v.t.reason}</th></tr></thead>
            <tbody>
              {criteria.map((c) => (
                <tr>
                  <td>{c.criterion}</td>
                  <td><Badge v={v} verdict={c.verdict} /></td>
                  <td class="n">{num(c.value, unitOf(c.criterion))}</td>
                  <td class="n">{num(c.mean, meanUnitOf(c.criterion))}</td>
                  <td class="n">{num(c.threshold, unitOf(c.criterion))}</td>
                  <td class="n">{c.samples ?? '–'} / {c.minSamples ?? '–'}</td>
                  <td class="reason">{c.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
    <section>
      <h2>{v.t.charts}</h2>
      <div class="charts">
        {(['download', 'upload', 'rtt', 'uptime'] as const).map((k) => (
          <figure>
            <figcaption>{v.t[k]}</figcaption>
            <div class="chart" data-series={k} />
            {series[k].length === 0 && <p class="empty">{v.t.noData}</p>}
          </figure>
        ))}
      </div>
      {jsonData('chart-data', series)}
    </section>
    <section id="outages">
      <h2>{v.t.outages} ({outages.length})</h2>
      {outages.length === 0 ? <Empty text={v.t.noOutages} /> : (
        <table>
          <thead><tr><th>{v.t.from}</th><th>{v.t.to}</th><th>{v.t.minutes}</th><th>{v.t.kind}</th></tr></thead>
          <tbody>
            {outages.slice(0, 100).map((o) => (
              <tr><td>{dateTime(o.start, v.timeZone, v.lang)}</td><td>{dateTime(o.end, v.timeZone, v.lang)}</td><td class="n">{Math.round((o.end - o.start) / 60_000)}</td><td>{o.kind}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
    <section id="devices">
      <h2>{v.t.devices}</h2>
      {devices.length === 0 ? <Empty text={v.t.noDevices} /> : <DeviceTable v={v} devices={devices} health={health} now={now} />}
    </section>
    <section id="site-alerts">
      <h2>{v.t.recentAlerts}</h2>
      {alerts.length === 0 ? <Empty text={v.t.noAlerts} /> : <AlertTable v={v} alerts={alerts} now={now} />}
    </section>
  </Layout>
);

export const DeviceTable: FC<{ v: View; devices: DeviceInfo[]; health?: Map<string, DeviceHealth>; now: number; sites?: Site[] }> = ({ v, devices, health, now, sites }) => (
  <div class="scroll">
    <table id="devices-table">
      <thead>
        <tr><th>{v.t.device}</th><th>{v.t.site}</th><th>{v.t.hostname}</th><th>{v.t.version}</th><th>{v.t.lastHeard}</th>{health && <th>{v.t.backlog}</th>}<th>{v.t.status}</th>{v.role === 'admin' && <th />}</tr>
      </thead>
      <tbody>
        {devices.map((d) => {
          const h = health?.get(d.id);
          return (
            <tr data-device={d.id}>
              <td><code>{d.id}</code></td>
              <td><a href={`${BASE}/sites/${d.siteCode}`}>{d.siteCode}</a> {d.siteName}</td>
              <td>{d.hostname ?? ''} {d.platform ? `(${d.platform})` : ''}</td>
              <td>{d.agentVersion ?? ''}</td>
              <td>{d.lastSeenAt ? v.t.ago(age(now - d.lastSeenAt, v.lang)) : v.t.never}</td>
              {health && <td class="n">{h?.queueDepth ?? '–'}{h?.oldestUnsentAgeS ? ` (${age(h.oldestUnsentAgeS * 1000, v.lang)})` : ''}</td>}
              <td>
                {d.revokedAt ? `${v.t.revoked}${d.revokedReason ? `: ${d.revokedReason}` : ''}` : v.t.active}
                {d.duplicateFingerprint && <> · <b>{v.t.duplicate}</b></>}
              </td>
              {v.role === 'admin' && (
                <td class="actions">
                  {!d.revokedAt && (
                    <ChangeForm v={v} action={`${BASE}/devices/${d.id}/revoke`} class="inline revoke">
                      <input name="reason" placeholder={v.t.revokeReason} required maxlength={500} aria-label={v.t.revokeReason} />
                      <button type="submit">{v.t.revoke}</button>
                    </ChangeForm>
                  )}
                  {!d.revokedAt && sites && (
                    <ChangeForm v={v} action={`${BASE}/devices/${d.id}/move`} class="inline move">
                      <input name="site" list="site-codes" placeholder={v.t.move} required aria-label={v.t.move} />
                      <button type="submit">{v.t.move}</button>
                    </ChangeForm>
                  )}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
    {sites && v.role === 'admin' && <SiteChoices sites={sites} />}
  </div>
);

/** Suggestions for site-code inputs; past a few hundred sites the list would outweigh the page, and codes are typed. */
export const SiteChoices: FC<{ sites: Site[] }> = ({ sites }) =>
  sites.length <= 300 ? <datalist id="site-codes">{sites.map((s) => <option value={s.code}>{s.name}</option>)}</datalist> : <></>;

export const AlertTable: FC<{ v: View; alerts: AlertState[]; now: number; silence?: boolean }> = ({ v, alerts, now, silence }) => (
  <div class="scroll">
    <table class="alerts-table">
      <thead><tr><th>{v.t.rule}</th><th>{v.t.site}</th><th>{v.t.state}</th><th>{v.t.since}</th><th>{v.t.summary}</th>{v.role === 'admin' && <th />}</tr></thead>
      <tbody>
        {alerts.map((a) => (
          <tr data-alert={`${a.ruleId}/${a.siteCode}`}>
            <td>{a.ruleId}</td>
            <td><a href={`${BASE}/sites/${a.siteCode}`}>{a.siteCode}</a></td>
            <td class={`state-${a.state}`}>{a.state}{a.ackedAt ? ` · ${v.t.acked} (${a.ackedBy ?? ''})` : ''}</td>
            <td>{v.t.ago(age(now - (a.firedAt ?? a.since), v.lang))}</td>
            <td>{a.summary ?? ''}</td>
            {v.role === 'admin' && (
              <td class="actions">
                {(a.state === 'firing' || a.state === 'pending') && !a.ackedAt && (
                  <ChangeForm v={v} action={`${BASE}/alerts/ack`} class="inline ack">
                    <input type="hidden" name="rule" value={a.ruleId} />
                    <input type="hidden" name="site" value={a.siteCode} />
                    <button type="submit">{v.t.ack}</button>
                  </ChangeForm>
                )}
                {silence && (
                  <ChangeForm v={v} action={`${BASE}/alerts/silence`} class="inline silence">
                    <input type="hidden" name="rule" value={a.ruleId} />
                    <input type="hidden" name="site" value={a.siteCode} />
                    <select name="hours" aria-label={v.t.silenceFor}>
                      {[1, 4, 24, 72, 168].map((h) => <option value={String(h)}>{h} {v.t.hours}</option>)}
                    </select>
                    <button type="submit">{v.t.silence}</button>
                  </ChangeForm>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);
