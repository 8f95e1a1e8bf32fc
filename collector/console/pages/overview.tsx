// Province overview: verdict counts for a period, the map coloured by verdict, silent sites and failing
// sites with their reasons.
import type { FC } from 'hono/jsx';
import { age } from '../i18n.ts';
import { BASE, ChangeForm, Empty, jsonData, Layout, type View } from '../layout.tsx';
import { counts, type SiteRow } from '../model.ts';

/** Rows listed on the overview; the sites page has them all. */
const LIST_LIMIT = 100;

export interface PeriodChoice {
  label: string;
  options: string[];
}

export const PeriodPicker: FC<{ v: View; period: PeriodChoice; action: string; extra?: Record<string, string> }> = ({ v, period, action, extra }) => (
  <form method="get" action={action} class="period">
    {Object.entries(extra ?? {}).map(([k, val]) => <input type="hidden" name={k} value={val} />)}
    <label>
      {v.t.period}{' '}
      <select name="period" id="period">
        {[...new Set([period.label, ...period.options])].map((p) => <option value={p} selected={p === period.label}>{p}</option>)}
      </select>
    </label>{' '}
    <button type="submit">{v.t.show}</button>
  </form>
);

export const VerdictCounts: FC<{ v: View; rows: SiteRow[]; period: string }> = ({ v, rows, period }) => {
  const c = counts(rows);
  const cell = (key: keyof typeof c) => (
    <a class={`count v-${key}`} href={`${BASE}/sites?period=${encodeURIComponent(period)}&verdict=${key}`} data-verdict={key}>
      <b>{c[key]}</b>
      <span>{v.t.verdict[key]}</span>
    </a>
  );
  return (
    <div class="counts" id="verdict-counts">
      <div class="count"><b>{rows.length}</b><span>{v.t.sitesTotal}</span></div>
      {cell('PASS')}
      {cell('FAIL')}
      {cell('INSUFFICIENT')}
      {c.NONE > 0 && cell('NONE')}
    </div>
  );
};

export const OverviewPage: FC<{
  v: View;
  period: PeriodChoice;
  rows: SiteRow[];
  stored: boolean;
  computing: boolean;
  now: number;
  tiles?: { url: string; attribution: string };
  grafana?: (site?: string) => string;
}> = ({ v, period, rows, stored, computing, now, tiles, grafana }) => {
  const failing = rows.filter((r) => r.verdict?.verdict === 'FAIL');
  const silent = rows.filter((r) => r.silent).sort((a, b) => (a.lastHeard ?? 0) - (b.lastHeard ?? 0));
  const points = rows
    .filter((r) => r.site.latitude !== undefined && r.site.longitude !== undefined)
    .map((r) => [r.site.code, r.site.name, r.site.latitude, r.site.longitude, r.verdict?.verdict ?? 'NONE', r.silent ? 1 : 0]);
  const p = encodeURIComponent(period.label);
  return (
    <Layout v={v} title={v.t.overviewTitle} scripts={['map']}>
      <PeriodPicker v={v} period={period} action={BASE} />
      {!stored && (
        <div class="note" id="not-computed">
          {computing ? v.t.computing : v.t.notComputed}{' '}
          {!computing && (
            <ChangeForm v={v} action={`${BASE}/verdicts/run?period=${p}`} class="inline">
              <button type="submit">{v.t.compute}</button>
            </ChangeForm>
          )}
        </div>
      )}
      <VerdictCounts v={v} rows={rows} period={period.label} />
      {grafana && <p><a href={grafana()} rel="noopener" target="_blank">{v.t.grafana}</a></p>}
      <section>
        <h2>{v.t.map}</h2>
        <div id="map" class="map" data-tiles={tiles?.url ?? ''} data-attribution={tiles?.attribution ?? ''} data-base={BASE} data-period={period.label} />
        <p class="legend">
          {(['PASS', 'FAIL', 'INSUFFICIENT', 'NONE'] as const).map((k) => <span><i class={`dot v-${k}`} /> {v.t.verdict[k]}</span>)}
          <span><i class="dot ring" /> {v.t.silent}</span>
        </p>
        {!tiles && <p class="hint">{v.t.mapNoTiles}</p>}
        {jsonData('map-data', points)}
      </section>
      <div class="two">
        <section id="silent">
          <h2>{v.t.silent} ({silent.length})</h2>
          {silent.length === 0 ? <Empty text={v.t.noneSilent} /> : (
            <table>
              <thead><tr><th>{v.t.site}</th><th>{v.t.commune}</th><th>{v.t.lastHeard}</th></tr></thead>
              <tbody>
                {silent.slice(0, LIST_LIMIT).map((r) => (
                  <tr>
                    <td><a href={`${BASE}/sites/${r.site.code}?period=${p}`}>{r.site.code}</a> {r.site.name}</td>
                    <td>{r.site.commune ?? ''}</td>
                    <td>{r.lastHeard ? v.t.ago(age(now - r.lastHeard, v.lang)) : v.t.never}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {silent.length > LIST_LIMIT && <p><a href={`${BASE}/sites?silent=1&period=${p}`}>{v.t.more(silent.length - LIST_LIMIT)}</a></p>}
        </section>
        <section id="failing">
          <h2>{v.t.failing} ({failing.length})</h2>
          {failing.length === 0 ? <Empty text={v.t.noneFailing} /> : (
            <table>
              <thead><tr><th>{v.t.site}</th><th>{v.t.commune}</th><th>{v.t.reason}</th></tr></thead>
              <tbody>
                {failing.slice(0, LIST_LIMIT).map((r) => (
                  <tr>
                    <td>
                      <a href={`${BASE}/sites/${r.site.code}?period=${p}`}>{r.site.code}</a> {r.site.name}
                      {grafana && <> · <a href={grafana(r.site.code)} rel="noopener" target="_blank">Grafana</a></>}
                    </td>
                    <td>{r.site.commune ?? ''}</td>
                    <td class="reason">{r.verdict?.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {failing.length > LIST_LIMIT && <p><a href={`${BASE}/sites?verdict=FAIL&period=${p}`}>{v.t.more(failing.length - LIST_LIMIT)}</a></p>}
        </section>
      </div>
    </Layout>
  );
};
