// Registry pages: the CSV import with its row-by-row dry run, export, enrollment codes and sheets, devices.
import type { FC } from 'hono/jsx';
import type { EnrollmentCodeInfo } from '../../registry/registry.ts';
import type { ImportReport } from '../../registry/sites-csv.ts';
import type { Site } from '../../registry/site.ts';
import { dateTime } from '../i18n.ts';
import { BASE, ChangeForm, Empty, Layout, type View } from '../layout.tsx';
import type { DeviceInfo } from '../model.ts';
import { DeviceTable, SiteChoices } from './sites.tsx';

const show = (x: unknown) => (x === undefined || x === null || x === '' ? '∅' : Array.isArray(x) ? x.join('; ') : String(x));

export const ImportPage: FC<{ v: View; report?: ImportReport; csv?: string; formatError?: string }> = ({ v, report, csv, formatError }) => (
  <Layout v={v} title={v.t.importTitle}>
    <p>{v.t.importHelp}</p>
    <p><a href={`${BASE}/import/sites.csv`} id="export" download>{v.t.export}</a></p>
    <ChangeForm v={v} action={`${BASE}/import`} enctype="multipart/form-data" id="import-form" csrfInUrl>
      <label>{v.t.file} <input type="file" name="file" accept=".csv,text/csv" required /></label>{' '}
      <button type="submit" id="dry-run">{v.t.dryRun}</button>
    </ChangeForm>
    {formatError && <div class="flash error" role="alert">{formatError}</div>}
    {report && (
      <section id="dry-run-result">
        <h2>{v.t.dryRun}</h2>
        <p class="counts-line">
          <span class="a-create">{report.created} {v.t.created}</span> · <span class="a-update">{report.updated} {v.t.updated}</span> ·{' '}
          <span>{report.unchanged} {v.t.unchanged}</span> · <span class="a-invalid">{report.invalid} {v.t.invalid}</span>
        </p>
        <div class="scroll">
          <table id="import-rows">
            <thead><tr><th>{v.t.line}</th><th>{v.t.code}</th><th>{v.t.action}</th><th>{v.t.changes}</th></tr></thead>
            <tbody>
              {[
                ...report.errors.map((e) => ({ line: e.line, row: (
                  <tr class="a-invalid"><td>{e.line}</td><td>{e.code ?? ''}</td><td>{v.t.invalid}</td><td>{e.errors.join('; ')}</td></tr>
                ) })),
                ...report.rows.map((r) => ({ line: r.line, row: (
                  <tr class={`a-${r.action}`}>
                    <td>{r.line}</td><td>{r.code}</td><td>{v.t[r.action === 'create' ? 'created' : r.action === 'update' ? 'updated' : 'unchanged']}</td>
                    <td>{r.action === 'update' ? r.changes.map((ch) => <div>{ch.column}: {show(ch.from)} → {show(ch.to)}</div>) : ''}</td>
                  </tr>
                ) })),
              ].sort((a, b) => a.line - b.line).slice(0, 2000).map((x) => x.row)}
            </tbody>
          </table>
        </div>
        {report.invalid > 0 ? (
          <div class="flash error" role="alert" id="import-refused">{v.t.importRefused(report.invalid)}</div>
        ) : csv !== undefined && report.created + report.updated > 0 ? (
          <ChangeForm v={v} action={`${BASE}/import/confirm`} id="confirm-form" csrfInUrl>
            <input type="hidden" name="csv" value={csv} />
            <button type="submit" id="confirm-import">{v.t.confirm}</button>
          </ChangeForm>
        ) : null}
      </section>
    )}
  </Layout>
);

export const EnrollmentPage: FC<{ v: View; codes: EnrollmentCodeInfo[]; sites: Site[]; groups: string[]; communes: string[]; activeOnly: boolean; siteFilter?: string; page: number; query: string }> = ({ v, codes, sites, groups, communes, activeOnly, siteFilter, page, query }) => (
  <Layout v={v} title={v.t.enrollTitle}>
    <p>{v.t.enrollHelp}</p>
    <ChangeForm v={v} action={`${BASE}/enrollment/sheets`} target="_blank" id="sheets-form" class="grid">
      <label><input type="radio" name="scope" value="site" checked /> {v.t.forSite} <input name="site" list="site-codes" /></label>
      <label><input type="radio" name="scope" value="group" /> {v.t.forGroup} <select name="group">{groups.map((g) => <option>{g}</option>)}</select></label>
      <label><input type="radio" name="scope" value="commune" /> {v.t.forCommune} <select name="commune">{communes.map((g) => <option>{g}</option>)}</select></label>
      <label><input type="radio" name="scope" value="all" /> {v.t.forAll}</label>
      <label>{v.t.uses} <input type="number" name="uses" min={1} max={10000} value="1" /></label>
      <label>{v.t.ttlDays} <input type="number" name="ttlDays" min={1} max={3650} value="30" /></label>
      <button type="submit" id="print-sheets">{v.t.printSheets}</button>
      <SiteChoices sites={sites} />
    </ChangeForm>
    <h2>{v.t.codes}</h2>
    <form method="get" action={`${BASE}/enrollment`} class="filters">
      <label>{v.t.site} <input name="site" value={siteFilter ?? ''} list="site-codes" /></label>
      <label><input type="checkbox" name="active" value="1" checked={activeOnly} /> {v.t.activeOnly}</label>
      <button type="submit">{v.t.filter}</button>
    </form>
    {codes.length === 0 ? <Empty text={v.t.noData} /> : (
      <div class="scroll">
        <table id="codes-table">
          <thead><tr><th>Id</th><th>{v.t.site}</th><th>{v.t.status}</th><th>{v.t.expires}</th><th>{v.t.usesLeft}</th>{v.role === 'admin' && <th />}</tr></thead>
          <tbody>
            {codes.slice(page * LIST_PAGE, (page + 1) * LIST_PAGE).map((c) => (
              <tr data-code={c.id}>
                <td><code>{c.id}</code></td>
                <td><a href={`${BASE}/sites/${c.siteCode}`}>{c.siteCode}</a></td>
                <td>{v.t.codeStatus[c.status]}</td>
                <td>{dateTime(c.expiresAt, v.timeZone, v.lang)}</td>
                <td class="n">{c.usesLeft} / {c.usesTotal}</td>
                {v.role === 'admin' && (
                  <td>{c.status === 'active' && (
                    <ChangeForm v={v} action={`${BASE}/enrollment/${c.id}/withdraw`} class="inline withdraw">
                      <button type="submit">{v.t.withdraw}</button>
                    </ChangeForm>
                  )}</td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </Layout>
);

/** Rows per page of devices and codes: a province has thousands; a page stays small on a phone. */
export const LIST_PAGE = 200;

const Pager: FC<{ total: number; page: number; href: (page: number) => string }> = ({ total, page, href }) => {
  const pages = Math.ceil(total / LIST_PAGE);
  return pages > 1 ? (
    <p class="pages">{Array.from({ length: pages }, (_, i) => (i === page ? <b>{i + 1}</b> : <a href={href(i + 1)}>{i + 1}</a>))}</p>
  ) : <></>;
};

export const DevicesPage: FC<{ v: View; devices: DeviceInfo[]; sites: Site[]; filter: { site?: string; revoked: boolean; duplicates: boolean }; now: number; page: number; query: string }> = ({ v, devices, sites, filter, now, page, query }) => (
  <Layout v={v} title={v.t.nav.devices}>
    <form method="get" action={`${BASE}/devices`} class="filters" id="device-filters">
      <label>{v.t.site} <input name="site" value={filter.site ?? ''} list="site-codes" /></label>
      <label><input type="checkbox" name="revoked" value="1" checked={filter.revoked} /> {v.t.showRevoked}</label>
      <label><input type="checkbox" name="duplicates" value="1" checked={filter.duplicates} /> {v.t.duplicate}</label>
      <button type="submit">{v.t.filter}</button>
    </form>
    <p>{devices.length} {v.t.devices.toLowerCase()}</p>
    {devices.length === 0 ? <Empty text={v.t.noDevices} /> : <DeviceTable v={v} devices={devices.slice(page * LIST_PAGE, (page + 1) * LIST_PAGE)} now={now} sites={sites} />}
    <Pager total={devices.length} page={page} href={(p) => `${BASE}/devices?${query}&page=${p}`} />
  </Layout>
);
