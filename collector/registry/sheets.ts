// Enrollment sheets: one printable A4 page per school with its enrollment code in large type, a QR code
// and short instructions in Vietnamese and English, so the ICT department can print a stack for a whole
// province and hand each school its own. Also the same codes as CSV, for a mail merge.
//
// The QR code holds the exact agent command. A technician scans it with a phone and sends the text to the
// school PC (e-mail, Zalo) instead of typing it; there is no URL handler to install anywhere.
import QRCode from 'qrcode';
import { stringify } from 'csv-stringify/sync';
import type { Registry } from './registry.ts';
import type { Site } from './site.ts';
import { DEFAULT_TIME_ZONE, formatDayMonthYear } from '../school/zone.ts';

export interface SheetEntry {
  site: Site;
  code: string;
  expiresAt: number;
  uses: number;
}

export function enrollCommand(collectorUrl: string, code: string): string {
  return `songcheck-agent enroll --collector ${collectorUrl} --code ${code}`;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

/** dd/mm/yyyy in the schools' zone: how the date is read at the school. */
export function formatDate(epochMs: number): string {
  return formatDayMonthYear(epochMs, DEFAULT_TIME_ZONE);
}

const STYLE = `
  @page { size: A4; margin: 15mm; }
  * { box-sizing: border-box; }
  body { font-family: "Segoe UI", "Noto Sans", Arial, sans-serif; color: #000; margin: 0; }
  .sheet { page-break-after: always; break-after: page; padding: 4mm 0; }
  .sheet:last-child { page-break-after: auto; break-after: auto; }
  h1 { font-size: 15pt; margin: 0 0 2mm; font-weight: 600; }
  .site { font-size: 22pt; font-weight: 700; margin: 4mm 0 1mm; }
  .meta { font-size: 11pt; color: #333; }
  .code-box { display: flex; align-items: center; gap: 8mm; margin: 8mm 0; padding: 6mm; border: 0.6mm solid #000; border-radius: 3mm; }
  .code-box svg { width: 48mm; height: 48mm; flex: none; }
  .label { font-size: 11pt; }
  .code { font-family: "Consolas", "DejaVu Sans Mono", monospace; font-size: 34pt; font-weight: 700; letter-spacing: 1.5mm; white-space: nowrap; }
  .validity { font-size: 11pt; margin-top: 2mm; }
  .cmd { font-family: "Consolas", "DejaVu Sans Mono", monospace; font-size: 10pt; background: #f2f2f2; padding: 2mm; border-radius: 1mm; word-break: break-all; }
  .cols { display: flex; gap: 8mm; }
  .cols > div { flex: 1; font-size: 10.5pt; }
  h2 { font-size: 12pt; margin: 0 0 2mm; }
  ol { padding-left: 5mm; margin: 0; }
  li { margin-bottom: 1.5mm; }
  .foot { margin-top: 6mm; font-size: 9pt; color: #555; }
  @media screen { body { background: #ddd; } .sheet { background: #fff; width: 210mm; min-height: 297mm; margin: 5mm auto; padding: 15mm; } }
`;

async function sheet(entry: SheetEntry, collectorUrl: string): Promise<string> {
  const { site, code } = entry;
  const command = enrollCommand(collectorUrl, code);
  const qr = await QRCode.toString(command, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
  const place = [site.commune, site.province].filter(Boolean).join(', ');
  const until = formatDate(entry.expiresAt);
  const e = escapeHtml;
  return `<section class="sheet">
  <h1>Phiếu đăng ký thiết bị đo chất lượng Internet songcheck · songcheck enrollment sheet</h1>
  <div class="site">${e(site.name)}</div>
  <div class="meta">Mã điểm trường / Site code: <b>${e(site.code)}</b>${place ? ` · ${e(place)}` : ''}${site.operator ? ` · ${e(site.operator)}` : ''}${site.linkType ? ` ${e(site.linkType)}` : ''}</div>
  <div class="code-box">
    ${qr}
    <div>
      <div class="label">Mã đăng ký / Enrollment code</div>
      <div class="code">${e(code)}</div>
      <div class="validity">Hết hạn / Valid until: <b>${until}</b> · Số máy / Devices: <b>${entry.uses}</b></div>
    </div>
  </div>
  <p class="cmd">${e(command)}</p>
  <div class="cols">
    <div lang="vi">
      <h2>Hướng dẫn</h2>
      <ol>
        <li>Trên máy tính của điểm trường (hoặc Raspberry Pi cắm vào bộ phát 4G), mở cửa sổ dòng lệnh với quyền quản trị.</li>
        <li>Gõ lệnh trên (hoặc quét mã QR bằng điện thoại và gửi lệnh sang máy tính), rồi nhấn Enter.</li>
        <li>Khi máy báo đăng ký thành công, khởi động dịch vụ đo: <b>songcheck-agent run</b>.</li>
        <li>Mỗi mã chỉ dùng được cho ${entry.uses} máy và hết hạn ngày ${until}. Không chia sẻ mã; nếu mất phiếu, báo Sở/phòng CNTT để huỷ mã.</li>
      </ol>
    </div>
    <div lang="en">
      <h2>Instructions</h2>
      <ol>
        <li>On the school computer (or the Raspberry Pi plugged into the 4G router), open a command prompt as administrator.</li>
        <li>Type the command above (or scan the QR code with a phone and send the text to the computer), then press Enter.</li>
        <li>When enrollment succeeds, start the measuring service: <b>songcheck-agent run</b>.</li>
        <li>This code enrols ${entry.uses} device(s) and expires on ${until}. Do not share it; if this sheet is lost, ask the ICT department to withdraw the code.</li>
      </ol>
    </div>
  </div>
  <div class="foot">Collector: ${e(collectorUrl)}</div>
</section>`;
}

/** One HTML document, one A4 page per entry, in the order given. */
export async function renderSheets(entries: SheetEntry[], collectorUrl: string): Promise<string> {
  const pages: string[] = [];
  for (const entry of entries) pages.push(await sheet(entry, collectorUrl));
  const title = entries.length === 1 ? `songcheck – ${entries[0]!.site.code}` : `songcheck – ${entries.length} enrollment sheets`;
  return `<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${pages.join('\n')}
</body>
</html>
`;
}

/** The same codes as CSV (UTF-8 with BOM, for Excel): one row per site, for a mail merge or a record. */
export function sheetsCsv(entries: SheetEntry[], collectorUrl: string): string {
  const rows = entries.map((e) => [e.site.code, e.site.name, e.site.commune ?? '', e.code, formatDate(e.expiresAt), e.uses, enrollCommand(collectorUrl, e.code)]);
  return `\uFEFF${stringify([['site_code', 'site_name', 'commune', 'enrollment_code', 'valid_until', 'uses', 'command'], ...rows], { record_delimiter: 'windows', escape_formulas: true })}`;
}

/**
 * Creates one new code per site (in one transaction: all sites get a code or none does) and returns the
 * entries to print. Codes printed earlier stay valid until they expire or are withdrawn.
 */
export function createSheetEntries(
  registry: Registry,
  sites: Site[],
  opts: { uses?: number; ttlDays?: number; actor?: string },
): SheetEntry[] {
  return registry.transaction(() =>
    sites.map((site) => {
      const created = registry.createEnrollmentCode(site.code, { uses: opts.uses, ttlDays: opts.ttlDays }, opts.actor);
      return { site, code: created.code, expiresAt: created.expiresAt, uses: created.uses };
    }),
  );
}

/** Which sites a sheet run covers: a list of codes, a group label, a commune, or all of them. */
export function selectSites(registry: Registry, sel: { sites?: string[]; group?: string; commune?: string; all?: boolean }): { sites: Site[]; missing: string[] } {
  const all = registry.listSites();
  if (sel.sites) {
    const byCode = new Map(all.map((s) => [s.code, s]));
    const missing = sel.sites.filter((c) => !byCode.has(c));
    return { sites: sel.sites.filter((c) => byCode.has(c)).map((c) => byCode.get(c)!), missing };
  }
  return { sites: filterSites(all, sel), missing: [] };
}

/** Filters shared by listing and sheets. Matching is exact for group labels and case-insensitive for the rest. */
export function filterSites(sites: Site[], f: { group?: string; commune?: string; operator?: string; q?: string }): Site[] {
  const lower = (s: string | undefined) => (s ?? '').toLocaleLowerCase('vi');
  return sites.filter(
    (s) =>
      (f.group === undefined || s.groups.includes(f.group)) &&
      (f.commune === undefined || lower(s.commune) === lower(f.commune)) &&
      (f.operator === undefined || lower(s.operator) === lower(f.operator)) &&
      (f.q === undefined || lower(`${s.code} ${s.name} ${s.commune ?? ''}`).includes(lower(f.q))),
  );
}
