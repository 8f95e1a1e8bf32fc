// The console in a real browser: Debian's Chromium (playwright-core) against a real collector process stack
// (in-process startCollector with the real InfluxDB), loaded with the demo province — twelve sites with 30
// days of history sent through the collector's own ingest and judged by the compliance engine.
// Screenshots of the main pages go to test-artefacts/console/ (git-ignored); with
// SONGCHECK_UPDATE_DOCS_SCREENSHOTS=1 they also replace docs/console/*.png.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AlertStore } from '../collector/alerts/store.ts';
import { loadConfig } from '../collector/config.ts';
import { openCollectorStore } from '../collector/database.ts';
import { createLogger } from '../collector/logger.ts';
import { type RunningCollector, startCollector } from '../collector/server.ts';
import { loadDemoProvince, runNightlyVerdicts } from '../scripts/demo-province.ts';
import { freePort } from '../scripts/free-port.ts';
import { openChromium, type OpenedBrowser } from './support/browser.ts';
import { createDb, uniqueTestDb } from './support/influx-query.ts';
import { REPO_ROOT } from './support/processes.ts';
import { strongToken } from './support/secrets.ts';

const influxUrl = inject('influxUrl');
const db = uniqueTestDb('console_browser');
const ADMIN = strongToken();
const REPORT = strongToken();
const ARTEFACTS = join(REPO_ROOT, 'test-artefacts', 'console');
const DOCS = join(REPO_ROOT, 'docs', 'console');

let dir: string;
let collector: RunningCollector;
let base: string;
let admin: OpenedBrowser;
let page: Page;

// A calendar whose school year spans the whole century, so the demo's 30 days are school days whatever the date.
const CALENDAR = `timeZone: Asia/Ho_Chi_Minh
schoolYears: [{ name: "all", start: 2020-01-01, end: 2099-12-31 }]
hours: { mon: ["07:00-17:00"], tue: ["07:00-17:00"], wed: ["07:00-17:00"], thu: ["07:00-17:00"], fri: ["07:00-17:00"] }
`;

async function shot(p: Page, name: string): Promise<void> {
  mkdirSync(ARTEFACTS, { recursive: true });
  const file = join(ARTEFACTS, `${name}.png`);
  await p.screenshot({ path: file, fullPage: true });
  if (process.env.SONGCHECK_UPDATE_DOCS_SCREENSHOTS === '1') {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, join(DOCS, `${name}.png`));
  }
}

async function api(path: string, init: RequestInit = {}, token = ADMIN): Promise<Response> {
  return fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
}

/** A device enrolled through the API, with its token, to see an upload accepted and then refused. */
async function enrollDevice(site: string): Promise<{ deviceId: string; token: string }> {
  const { code } = (await (await api(`/api/v1/admin/sites/${site}/enrollment-codes`, { method: 'POST' })).json()) as { code: string };
  const res = await fetch(`${base}/api/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, hostname: 'PC-REVOKE' }) });
  return (await res.json()) as { deviceId: string; token: string };
}

function upload(token: string): Promise<Response> {
  const result = { id: `rv-${Date.now().toString(36)}`, probe: 'tcp', target: 'collector.demo:443', measuredAt: Date.now() - 1000, code: 'ok', fields: { sent: 10, received: 10, loss_pct: 0, rtt_median_ms: 40 } };
  return fetch(`${base}/api/v1/measurements`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ results: [result] }) });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'songcheck-console-browser-'));
  await createDb(influxUrl, db);
  writeFileSync(join(dir, 'calendar.yaml'), CALENDAR);
  const config = loadConfig({
    SONGCHECK_HOST: '127.0.0.1', SONGCHECK_PORT: String(await freePort()), SONGCHECK_INFLUX_URL: influxUrl, SONGCHECK_INFLUX_DB: db,
    SONGCHECK_DATA_DIR: join(dir, 'collector'), SONGCHECK_ADMIN_TOKEN: ADMIN, SONGCHECK_REPORT_TOKEN: REPORT, SONGCHECK_TEST_TOKEN_KEY: strongToken(),
    SONGCHECK_CALENDAR_FILE: join(dir, 'calendar.yaml'), SONGCHECK_COMPLIANCE_SCHEDULE: 'off', SONGCHECK_CONSOLE_TILES: 'off',
    SONGCHECK_INFLUX_ROLLUPS: 'false',
  });
  collector = await startCollector(config, { logger: createLogger('warn') });
  base = collector.url;
  await loadDemoProvince({ collectorUrl: base, adminToken: ADMIN, dataDir: config.dataDir });
  await runNightlyVerdicts({ collectorUrl: base, adminToken: ADMIN, periods: ['rolling30'] });
  // One firing alert to acknowledge (the alert engine raises it only after 30 school minutes of silence).
  const store = await openCollectorStore(config.dataDir);
  const now = Date.now();
  await new AlertStore(store).putState({ ruleId: 'site-silent', siteCode: 'DEMO-P10', state: 'firing', since: now - 3_600_000, firedAt: now - 3_600_000, clearStreak: 0, value: 5760, summary: 'last heard 5760 min ago' });
  await store.close();
  admin = await openChromium();
  page = admin.context.pages()[0] ?? (await admin.context.newPage());
}, 300_000);

afterAll(async () => {
  await admin?.close();
  await collector?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the console in Chromium, signed in with the admin token', () => {
  it('signs in and sets a session cookie that is HttpOnly, SameSite=Strict and expiring (not Secure over plain http)', async () => {
    await page.goto(`${base}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    await shot(page, 'sign-in');
    await page.fill('input[name=token]', 'wrong-token-wrong-token');
    await page.click('#sign-in');
    await expect(page.textContent('.flash.error')).resolves.toContain('không đúng');
    await page.fill('input[name=token]', ADMIN);
    await page.click('#sign-in');
    expect(new URL(page.url()).pathname).toBe('/console');
    const [cookie] = (await admin.context.cookies(`${base}/console`)).filter((c) => c.name === 'songcheck_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/console' });
    expect(cookie!.expires * 1000).toBeGreaterThan(Date.now());
    expect(cookie!.expires * 1000).toBeLessThan(Date.now() + 13 * 3_600_000);
  });

  it('shows the province: verdict counts, the map without tiles, the silent site and the failing sites with reasons', async () => {
    const counts = await page.$$eval('#verdict-counts a[data-verdict]', (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-verdict'), Number(e.querySelector('b')?.textContent)])));
    expect(counts.FAIL).toBeGreaterThanOrEqual(4);
    expect(counts.PASS).toBeGreaterThanOrEqual(4);
    await page.waitForSelector('#map[data-ready="12"]');
    await expect(page.textContent('#silent')).resolves.toContain('DEMO-P10');
    await expect(page.textContent('#failing')).resolves.toContain('DEMO-P06');
    await shot(page, 'overview');
  });

  it('opens a failing site and reads its reason, with charts, outages and devices', async () => {
    await page.click('#failing a[href^="/console/sites/DEMO-P06"]');
    const criteria = await page.textContent('#criteria');
    expect(criteria).toMatch(/median download was [\d.]+ Mbit\/s over \d+ download tests, below the required 20 Mbit\/s/);
    await page.waitForSelector('.chart[data-series="download"][data-ready]');
    await page.waitForSelector('.chart[data-series="rtt"][data-ready]');
    await expect(page.textContent('#devices')).resolves.toContain('PC-P06');
    await shot(page, 'site');
    await page.goto(`${base}/console/sites/DEMO-P09`);
    await expect(page.textContent('#outages')).resolves.toMatch(/link_down/);
  });

  it('filters the sites list', async () => {
    await page.goto(`${base}/console/sites`);
    await page.selectOption('#site-filters select[name=commune]', 'Y Tý');
    await page.selectOption('#site-filters select[name=verdict]', 'FAIL');
    await page.click('#site-filters button[type=submit]');
    const codes = await page.$$eval('#sites-table tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    expect(codes.sort()).toEqual(['DEMO-P06', 'DEMO-P07', 'DEMO-P12']);
    await shot(page, 'sites');
  });

  it('imports a CSV: an invalid row is refused with its reason, the fixed file shows created and updated, then imports', async () => {
    const header = 'code,name,commune,operator,link_type,latitude,longitude';
    const bad = `${header}\nNEW-001,Điểm trường Mới,Bản Xèo,viettel,4g,22.6,103.7\nNEW-002,Điểm trường Hai,Bản Xèo,viettel,6g,22.61,103.71\nDEMO-P01,Trường PTDTBT TH Bản Xèo (demo),Bản Xèo,vnpt,4g,22.5861,103.7602\n`;
    await page.goto(`${base}/console/import`);
    await page.setInputFiles('#import-form input[type=file]', { name: 'sites.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await page.click('#dry-run');
    await expect(page.textContent('#import-refused')).resolves.toMatch(/1 dòng không hợp lệ/);
    await expect(page.textContent('#import-rows tr.a-invalid')).resolves.toMatch(/NEW-002.*link_type.*4g/s);
    expect(await page.$('#confirm-import')).toBeNull();
    const fixed = bad.replace(',6g,', ',4g,');
    await page.setInputFiles('#import-form input[type=file]', { name: 'sites.csv', mimeType: 'text/csv', buffer: Buffer.from(fixed) });
    await page.click('#dry-run');
    await expect(page.textContent('#import-rows')).resolves.toMatch(/operator: viettel → vnpt/);
    expect(await page.$$('#import-rows tr.a-create')).toHaveLength(2);
    await shot(page, 'import');
    await page.click('#confirm-import');
    await expect(page.textContent('.flash.ok')).resolves.toMatch(/2 điểm mới, 1 điểm cập nhật/);
    const site = (await (await api('/api/v1/admin/sites/NEW-002')).json()) as { site: { linkType: string } };
    expect(site.site.linkType).toBe('4g');
    const audit = (await (await api('/api/v1/admin/audit?subject=NEW-002')).json()) as { entries: { actor: string }[] };
    expect(audit.entries[0]?.actor).toMatch(/^console admin /);
  });

  it('prints enrollment sheets for a site and withdraws a code', async () => {
    await page.goto(`${base}/console/enrollment`);
    await page.fill('#sheets-form input[name=site]', 'NEW-001');
    const [sheets] = await Promise.all([admin.context.waitForEvent('page'), page.click('#print-sheets')]);
    await sheets.waitForLoadState();
    const text = await sheets.textContent('body');
    expect(text).toContain('NEW-001');
    expect(text).toMatch(/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}/);
    expect(await sheets.$$('svg')).not.toHaveLength(0);
    await shot(sheets, 'enrollment-sheet');
    await sheets.close();
    await page.goto(`${base}/console/enrollment?site=NEW-001&active=1`);
    expect(await page.$$('#codes-table tbody tr')).toHaveLength(1);
    await page.click('#codes-table form.withdraw button');
    await expect(page.textContent('.flash.ok')).resolves.toBeTruthy();
    await page.goto(`${base}/console/enrollment?site=NEW-001&active=1`);
    expect(await page.$$('#codes-table tbody tr')).toHaveLength(0);
  });

  it('moves a device to another site', async () => {
    const device = await enrollDevice('NEW-001');
    await page.goto(`${base}/console/devices?site=NEW-001`);
    await page.fill(`tr[data-device="${device.deviceId}"] form.move input[name=site]`, 'NEW-002');
    await page.click(`tr[data-device="${device.deviceId}"] form.move button`);
    await expect(page.textContent('.flash.ok')).resolves.toContain('NEW-001');
    const moved = (await (await api(`/api/v1/admin/devices/${device.deviceId}`)).json()) as { device: { siteCode: string } };
    expect(moved.device.siteCode).toBe('NEW-002');
  });

  it('revokes a device with a reason, and the device’s next upload is refused', async () => {
    const device = await enrollDevice('NEW-001');
    expect((await upload(device.token)).status).toBe(200);
    await page.goto(`${base}/console/devices?site=NEW-001`);
    await shot(page, 'devices');
    await page.fill(`tr[data-device="${device.deviceId}"] form.revoke input[name=reason]`, 'máy bị mất');
    await page.click(`tr[data-device="${device.deviceId}"] form.revoke button`);
    await expect(page.textContent('.flash.ok')).resolves.toMatch(/thu hồi/);
    expect((await upload(device.token)).status).toBe(401);
  });

  it('acknowledges a firing alert and shows channel health', async () => {
    await page.goto(`${base}/console/alerts`);
    await expect(page.textContent('#firing')).resolves.toContain('DEMO-P10');
    await shot(page, 'alerts');
    await page.click('tr[data-alert="site-silent/DEMO-P10"] form.ack button');
    await expect(page.textContent('.flash.ok')).resolves.toMatch(/xác nhận/);
    await expect(page.textContent('tr[data-alert="site-silent/DEMO-P10"]')).resolves.toMatch(/Đã xác nhận \(console admin/);
    await expect(page.textContent('#channels')).resolves.toBeTruthy();
    const audit = (await (await api(`/api/v1/admin/audit?subject=${encodeURIComponent('site-silent/DEMO-P10')}`)).json()) as { entries: { actor: string; action: string }[] };
    expect(audit.entries[0]).toMatchObject({ action: 'alert.ack', actor: expect.stringMatching(/^console admin /) });
  });

  it('links the monthly report (HTML and CSV)', async () => {
    await page.goto(`${base}/console/reports?period=rolling30`);
    await shot(page, 'reports');
    const href = await page.getAttribute('#report-html', 'href');
    const report = await page.request.get(`${base}${href}`);
    expect(report.status()).toBe(200);
    expect(await report.text()).toContain('DEMO-P06');
    const csv = await page.request.get(`${base}${await page.getAttribute('#report-csv', 'href')}`);
    expect(await csv.text()).toContain('DEMO-P07');
    // The evidence pack of one site, through the console's session (the API route takes a bearer token).
    await page.fill('#evidence-form input[name=site]', 'DEMO-P06');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#evidence-form button')]);
    expect(download.suggestedFilename()).toBe('songcheck-evidence-DEMO-P06-rolling30.jsonl');
  });

  it('refuses a change without the page’s CSRF token', async () => {
    const device = (await (await api('/api/v1/admin/devices?site=DEMO-P01')).json()) as { devices: { id: string }[] };
    const res = await page.request.post(`${base}/console/devices/${device.devices[0]!.id}/revoke`, { form: { reason: 'csrf test' } });
    expect(res.status()).toBe(403);
    const after = (await (await api(`/api/v1/admin/devices/${device.devices[0]!.id}`)).json()) as { device: { revokedAt?: number } };
    expect(after.device.revokedAt).toBeUndefined();
  });

  it('switches to English and back, and works on a phone-sized screen', async () => {
    await page.goto(`${base}/console`);
    await page.click('#lang-switch');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await expect(page.textContent('header nav')).resolves.toContain('Overview');
    await expect(page.textContent('#failing h2')).resolves.toContain('Failing sites');
    await shot(page, 'overview-en');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'overview-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(2);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.click('#lang-switch');
    expect(await page.getAttribute('html', 'lang')).toBe('vi');
  });

  it('signs out: the session no longer opens any page', async () => {
    await page.click('#sign-out');
    expect(new URL(page.url()).pathname).toBe('/console/login');
    await page.goto(`${base}/console/devices`);
    expect(new URL(page.url()).pathname).toBe('/console/login');
  });
});

describe('the console signed in with the reporting token', () => {
  it('reads every page, offers no change, and every change it tries answers 403', async () => {
    const reader = await openChromium();
    try {
      const p = reader.context.pages()[0] ?? (await reader.context.newPage());
      await p.goto(`${base}/console/login`);
      await p.fill('input[name=token]', REPORT);
      await p.click('#sign-in');
      await expect(p.textContent('.note')).resolves.toMatch(/chỉ xem/);
      for (const path of ['/console', '/console/sites', '/console/sites/DEMO-P06', '/console/import', '/console/enrollment', '/console/devices', '/console/alerts', '/console/reports']) {
        await p.goto(`${base}${path}`);
        const posts = await p.$$eval('form[method=post]', (forms) => forms.map((f) => f.getAttribute('action')));
        expect(posts, path).toEqual(['/console/logout']);
        expect(await p.$$('button:is(.revoke, .ack, .withdraw, #confirm-import, #print-sheets, #dry-run)')).toHaveLength(0);
      }
      await p.goto(`${base}/console/devices`);
      const csrf = await p.getAttribute('input[name=_csrf]', 'value');
      const device = (await (await api('/api/v1/admin/devices?site=DEMO-P02')).json()) as { devices: { id: string }[] };
      const id = device.devices[0]!.id;
      for (const [path, form] of [
        [`/console/devices/${id}/revoke`, { reason: 'x' }],
        [`/console/devices/${id}/move`, { site: 'DEMO-P03' }],
        ['/console/alerts/ack', { rule: 'site-silent', site: 'DEMO-P10' }],
        ['/console/alerts/silence', { rule: 'site-silent', site: 'DEMO-P10', hours: '4' }],
        ['/console/enrollment/sheets', { scope: 'all' }],
        ['/console/verdicts/run?period=rolling30', {}],
        ['/console/import/confirm', { csv: 'code,name\nX-1,x\n' }],
      ] as const) {
        const res = await p.request.post(`${base}${path}`, { form: { ...form, _csrf: csrf! } });
        expect(res.status(), path).toBe(403);
      }
      const after = (await (await api(`/api/v1/admin/devices/${id}`)).json()) as { device: { revokedAt?: number; siteCode: string } };
      expect(after.device).toMatchObject({ siteCode: 'DEMO-P02' });
      expect(after.device.revokedAt).toBeUndefined();
    } finally {
      await reader.close();
    }
  });
});
