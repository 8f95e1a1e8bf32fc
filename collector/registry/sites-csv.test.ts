import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from './registry.ts';
import { CSV_COLUMNS, CsvFormatError, exportSitesCsv, formatReport, importSitesCsv, parseSitesCsv } from './sites-csv.ts';

const SAMPLE = fs.readFileSync(new URL('../sites.sample.csv', import.meta.url));
const HEADER = CSV_COLUMNS.join(',');

let dir: string;
let registry: Registry;
let now: number;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-csv-'));
  now = Date.UTC(2025, 8, 1, 8);
  registry = await Registry.open(dir, { now: () => now });
});
afterEach(async () => {
  await registry.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Everything an import could change: the sites table and the audit log. */
const snapshot = async () => JSON.stringify({ sites: await registry.listSites(), audit: (await registry.auditLog({ limit: 10_000 })).length });

describe('CSV import', () => {
  it('imports the shipped sample with its Vietnamese names, groups and BOM', async () => {
    const report = await importSitesCsv(registry, SAMPLE);
    expect(report).toMatchObject({ applied: true, created: 6, updated: 0, unchanged: 0, invalid: 0 });
    expect(await registry.getSite('LC-0001')).toMatchObject({
      name: 'Điểm trường Bản Xèo', commune: 'Bản Xèo', province: 'Lào Cai', operator: 'viettel', linkType: '4g',
      latitude: 22.5832, longitude: 103.7618, students: 86, groups: ['huyện cũ:Bát Xát', 'cụm:Bắc'], notes: 'Router 4G gắn cột cờ',
    });
    expect((await registry.getSite('LC-0003'))?.notes).toBe('Chỉ có 3G, sóng yếu buổi chiều');
    expect(await registry.getSite('LC-0001')).not.toHaveProperty('profile');
  });

  it('re-importing the same file changes nothing: no write, no audit entry, every row unchanged', async () => {
    await importSitesCsv(registry, SAMPLE);
    const before = (await snapshot());
    now += 60_000;
    const again = await importSitesCsv(registry, SAMPLE);
    expect(again).toMatchObject({ applied: true, created: 0, updated: 0, unchanged: 6, invalid: 0 });
    expect((await snapshot())).toBe(before);
  });

  it('updates changed rows in place, never duplicating, and reports the changed fields', async () => {
    await importSitesCsv(registry, SAMPLE);
    const edited = SAMPLE.toString('utf8').replace('Y Tý,Lào Cai,vnpt,4g,22.6398,103.6314,412', 'Y Tý,Lào Cai,viettel,4g,22.6398,103.6314,430');
    const dry = await importSitesCsv(registry, edited, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, applied: false, updated: 1, unchanged: 5 });
    expect(dry.rows.find((r) => r.code === 'LC-0002')).toEqual({
      line: 3, code: 'LC-0002', action: 'update',
      changes: [{ column: 'operator', from: 'vnpt', to: 'viettel' }, { column: 'students', from: 412, to: 430 }],
    });
    expect((await registry.getSite('LC-0002'))?.operator).toBe('vnpt'); // a dry run writes nothing
    expect(formatReport(dry)).toContain('line 3  LC-0002  updated: operator "vnpt" -> "viettel", students 412 -> 430');
    expect(formatReport(dry).at(-1)).toBe('dry run: 0 would be created, 1 would be updated, 5 unchanged, 0 invalid; nothing was written');

    const applied = await importSitesCsv(registry, edited);
    expect(applied).toMatchObject({ applied: true, updated: 1, created: 0 });
    expect(await registry.getSite('LC-0002')).toMatchObject({ operator: 'viettel', students: 430 });
    expect(await registry.listSites()).toHaveLength(6);
  });

  it('names every bad row with its line and reasons, and imports none of them unless asked', async () => {
    const csv = [
      HEADER,
      'LC-1,Trường A,Xã A,,viettel,4g,22.5,103.9,10,,,',
      'LC-2,Trường B,,,viettel,2g,,,,,,', // bad link type
      'LC-3,Trường C,,,,,95,103,,,,', // latitude out of range
      'bad code!,Trường D,,,,,,,,,,',
      'LC-1,Trường A again,,,,,,,,,,', // duplicate in the file
      'LC-6,,,,,,,,,,,', // new site without a name
      'LC-7,Trường G,,,,,22.1,,,,,', // latitude without longitude
      'LC-8,Trường H,,,,,,,many,,,', // students not a number
      'LC-9,Trường I,,,,,,,,,BAD PROFILE,',
      'LC-10,Trường J,,,,', // wrong number of cells
    ].join('\n');
    const before = (await snapshot());
    const report = await importSitesCsv(registry, csv);
    expect(report).toMatchObject({ applied: false, created: 1, invalid: 9 });
    expect((await snapshot())).toBe(before);
    expect(report.errors.map((e) => [e.line, e.code, e.errors.join('; ')])).toEqual([
      [3, 'LC-2', 'link_type: must be one of 4g, 3g, 5g, fibre, adsl, other'],
      [4, 'LC-3', 'latitude: must be <= 90'],
      [5, 'bad code!', 'code: must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit'],
      [6, 'LC-1', 'code: LC-1 already appears on line 2'],
      [7, 'LC-6', 'name: required for a new site'],
      [8, 'LC-7', 'latitude: latitude and longitude go together: give both or neither'],
      [9, 'LC-8', 'students: must be a number'],
      [10, 'LC-9', 'profile: must be 1-64 characters of [a-z0-9._-], starting with a letter or digit'],
      [11, 'LC-10', 'has 6 cells, the header has 12'],
    ]);
    expect(formatReport(report).at(-1)).toMatch(/^nothing imported: 1 not created, .* 9 invalid; fix the invalid rows, or import the valid ones with --allow-partial$/);

    const partial = await importSitesCsv(registry, csv, { allowPartial: true });
    expect(partial).toMatchObject({ applied: true, created: 1, invalid: 9 });
    expect((await registry.listSites()).map((s) => s.code)).toEqual(['LC-1']);
  });

  it('manages only the columns the file has; an empty cell clears that field', async () => {
    await importSitesCsv(registry, SAMPLE);
    const report = await importSitesCsv(registry, 'code,students,notes\nLC-0001,90,\n');
    expect(report.rows).toEqual([
      { line: 2, code: 'LC-0001', action: 'update', changes: [{ column: 'students', from: 86, to: 90 }, { column: 'notes', from: 'Router 4G gắn cột cờ', to: undefined }] },
    ]);
    expect(await registry.getSite('LC-0001')).toMatchObject({ students: 90, operator: 'viettel', commune: 'Bản Xèo' });
    expect(await registry.getSite('LC-0001')).not.toHaveProperty('notes');
  });

  it('reads what a Vietnamese-locale Excel writes: semicolons, decimal commas, CRLF', async () => {
    const csv = `\uFEFFcode;name;latitude;longitude;groups\r\nLC-1;Trường Lũng Pô;22,7812;103,5421;"cụm:Bắc;biên giới"\r\n`;
    expect(await importSitesCsv(registry, Buffer.from(csv, 'utf8'))).toMatchObject({ applied: true, created: 1 });
    expect(await registry.getSite('LC-1')).toMatchObject({ name: 'Trường Lũng Pô', latitude: 22.7812, longitude: 103.5421, groups: ['cụm:Bắc', 'biên giới'] });
  });

  it('refuses files it cannot read as a whole, saying why', async () => {
    const latin1 = Buffer.from('code,name\nLC-1,Tr\xe6\xf4ng\n', 'latin1');
    await expect(importSitesCsv(registry, latin1)).rejects.toThrow(/not UTF-8; in Excel use "Save As" > "CSV UTF-8/);
    await expect(importSitesCsv(registry, '')).rejects.toThrow(/the file is empty/);
    await expect(importSitesCsv(registry, 'code,name,comune\nLC-1,A,B\n')).rejects.toThrow(/unknown column "comune" in the header/);
    await expect(importSitesCsv(registry, 'name\nA\n')).rejects.toThrow(/no "code" column/);
    await expect(importSitesCsv(registry, 'code,name,name\nA,B,C\n')).rejects.toThrow(/column "name" appears twice/);
    expect(() => parseSitesCsv('code,name\nA,B\n')).not.toThrow();
    await expect(importSitesCsv(registry, 'x')).rejects.toThrow(CsvFormatError);
  });

  it('reads a stray quote inside a cell as a character; an unclosed quote is reported on its line and the rows before it are read', async () => {
    const stray = await importSitesCsv(registry, 'code,name\nLC-1,Trường "A"\n', { dryRun: true });
    expect(stray.errors).toEqual([]);
    expect(stray.rows).toEqual([{ line: 2, code: 'LC-1', action: 'create', changes: [] }]);
    const unclosed = await importSitesCsv(registry, 'code,name\nLC-1,Trường A\nLC-2,"Trường B\n', { dryRun: true });
    expect(unclosed.rows.map((r) => r.code)).toEqual(['LC-1']);
    expect(unclosed.errors).toEqual([{ line: 3, errors: [expect.stringMatching(/^Quote Not Closed/)] }]);
  });
});

describe('CSV export', () => {
  it('writes the import format with a BOM, and exporting then importing changes nothing', async () => {
    await importSitesCsv(registry, SAMPLE);
    await registry.updateSite('LC-0002', { profile: 'giga-2030', notes: 'Dòng "trích dẫn", dấu phẩy; chấm phẩy' });
    const csv = exportSitesCsv(await registry.listSites());
    expect(csv.startsWith(`\uFEFF${HEADER}\r\n`)).toBe(true);
    expect(csv).toContain('LC-0001,Điểm trường Bản Xèo,Bản Xèo,Lào Cai,viettel,4g,22.5832,103.7618,86,huyện cũ:Bát Xát;cụm:Bắc,,Router 4G gắn cột cờ\r\n');
    const before = (await snapshot());
    expect(await importSitesCsv(registry, csv)).toMatchObject({ applied: true, unchanged: 6, created: 0, updated: 0, invalid: 0 });
    expect((await snapshot())).toBe(before);
    expect(exportSitesCsv(await registry.listSites(), { bom: false }).startsWith(HEADER)).toBe(true);
  });
});
