// Sites as CSV, the way an ICT department keeps them: a spreadsheet, UTF-8 (with or without the BOM Excel
// writes), comma- or semicolon-separated (Excel in a Vietnamese locale uses ";"), one site per row.
//
// Import is idempotent: the site code is the key, an existing site is updated, a new one created, and a
// row that changes nothing writes nothing. Only the columns present in the file are managed; an empty
// cell clears that field of an existing site. Every row is validated before anything is written; with
// invalid rows nothing is imported unless the caller asks to import the valid ones.
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { ErrorDetail } from '../../protocol/api.ts';
import { formatIssues } from '../validation.ts';
import type { Registry } from './registry.ts';
import { type Site, SITE_FIELDS, type SiteField, SiteInput, SiteCode } from './site.ts';

/** The file's columns, in export order. `groups` holds labels separated by ";". */
export const CSV_COLUMNS = ['code', 'name', 'commune', 'province', 'operator', 'link_type', 'latitude', 'longitude', 'students', 'groups', 'profile', 'notes'] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

const COLUMN_FIELD: Record<Exclude<CsvColumn, 'code'>, SiteField> = {
  name: 'name', commune: 'commune', province: 'province', operator: 'operator', link_type: 'linkType', latitude: 'latitude',
  longitude: 'longitude', students: 'students', groups: 'groups', profile: 'profile', notes: 'notes',
};
const FIELD_COLUMN = Object.fromEntries(Object.entries(COLUMN_FIELD).map(([c, f]) => [f, c])) as Record<SiteField, CsvColumn>;

/** A problem with the file as a whole (not UTF-8, no header, unknown columns): nothing can be imported. */
export class CsvFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvFormatError';
  }
}

export interface RowChange {
  column: string;
  from?: unknown;
  to?: unknown;
}

export interface RowPlan {
  line: number;
  code: string;
  action: 'create' | 'update' | 'unchanged';
  /** For an update, each changed column with its old and new value. */
  changes: RowChange[];
}

export interface RowError {
  line: number;
  code?: string;
  errors: string[];
}

export interface ImportReport {
  dryRun: boolean;
  /** Whether anything was written: false for a dry run and when invalid rows stopped the import. */
  applied: boolean;
  created: number;
  updated: number;
  unchanged: number;
  invalid: number;
  rows: RowPlan[];
  errors: RowError[];
}

interface ParsedRow {
  line: number;
  code: string;
  /** Only the columns the file has; null = empty cell. */
  values: Partial<Record<SiteField, unknown>>;
}

const MAX_ROWS = 200_000;

function decodeUtf8(input: string | Uint8Array): string {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new CsvFormatError('the file is not UTF-8; in Excel use "Save As" > "CSV UTF-8 (Comma delimited)"');
    }
  }
  return text.replace(/^\uFEFF/, '');
}

/** The delimiter the header line uses most: ",", ";" or a tab. */
function detectDelimiter(text: string): string {
  const header = text.slice(0, text.search(/\r?\n|$/));
  const counts = [',', ';', '\t'].map((d) => [d, header.split(d).length - 1] as const);
  return counts.reduce((best, c) => (c[1] > best[1] ? c : best))[0];
}

function parseNumber(cell: string, integer: boolean): number | string {
  const t = cell.replace(/\s+/g, '');
  // A decimal comma (22,58) is what a Vietnamese-locale spreadsheet writes.
  const re = integer ? /^\d+$/ : /^[-+]?\d+([.,]\d+)?$/;
  return re.test(t) ? Number(t.replace(',', '.')) : cell;
}

function cellValue(field: SiteField, cell: string): unknown {
  const t = cell.trim();
  if (t === '') return null;
  switch (field) {
    case 'latitude':
    case 'longitude':
      return parseNumber(t, false);
    case 'students':
      return parseNumber(t, true);
    case 'groups':
      return t.split(';').map((g) => g.trim()).filter((g) => g !== '');
    case 'linkType':
      return t.toLowerCase();
    default:
      return t;
  }
}

/** Reads a CSV of sites: each data row as present values, and each row that cannot even be read. */
/**
 * CSV exports neutralise formulas (csv-stringify's `escape_formulas`: a cell starting with = + - @ a tab or
 * a carriage return, or their full-width forms, gets a leading apostrophe, so a spreadsheet shows text
 * instead of running `=HYPERLINK(...)`). Importing strips that guard again, so an export imports unchanged.
 */
export function unguardFormula(cell: string): string {
  return /^'[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(cell) ? cell.slice(1) : cell;
}

export function parseSitesCsv(input: string | Uint8Array): { columns: CsvColumn[]; rows: ParsedRow[]; errors: RowError[] } {
  const text = decodeUtf8(input);
  if (text.trim() === '') throw new CsvFormatError('the file is empty; the first line must name the columns, e.g. code,name,commune');
  const errors: RowError[] = [];
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter: detectDelimiter(text),
      info: true,
      relax_column_count: true,
      // A quote inside an unquoted cell (Trường "A") is read as a character, as spreadsheets do.
      relax_quotes: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err: { lines?: number; message: string } | undefined) => {
        if (!err) return;
        const line = err.lines ?? 0;
        const previous = errors.find((e) => e.line === line);
        if (previous) previous.errors.push(err.message);
        else errors.push({ line, errors: [err.message] });
      },
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new CsvFormatError(`the file is not valid CSV: ${(error as Error).message}`);
  }
  const [head, ...body] = records;
  if (!head) throw new CsvFormatError('the file has no header line');
  const names = head.record.map((h) => h.trim().toLowerCase());
  const unknown = names.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n));
  if (unknown.length) {
    throw new CsvFormatError(`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} in the header; the columns are ${CSV_COLUMNS.join(',')}`);
  }
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length) throw new CsvFormatError(`column "${repeated[0]}" appears twice in the header`);
  if (!names.includes('code')) throw new CsvFormatError('the header has no "code" column; the site code identifies each row');
  if (body.length > MAX_ROWS) throw new CsvFormatError(`the file has ${body.length} rows; at most ${MAX_ROWS} per import`);
  const columns = names as CsvColumn[];

  const rows: ParsedRow[] = [];
  for (const { record: raw, info } of body) {
    const record = raw.map(unguardFormula);
    const line = info.lines;
    if (record.every((cell) => cell.trim() === '')) continue;
    const code = record[names.indexOf('code')]?.trim() ?? '';
    if (record.length !== names.length) {
      errors.push({ line, code: code || undefined, errors: [`has ${record.length} cells, the header has ${names.length}`] });
      continue;
    }
    const values: ParsedRow['values'] = {};
    columns.forEach((column, i) => {
      if (column !== 'code') values[COLUMN_FIELD[column]] = cellValue(COLUMN_FIELD[column], record[i]!);
    });
    rows.push({ line, code, values });
  }
  return { columns, rows, errors };
}

type SiteValues = Partial<Record<SiteField, unknown>>;

function siteValues(site: Site): SiteValues {
  const v: SiteValues = {};
  for (const f of SITE_FIELDS) if (site[f] !== undefined) v[f] = site[f];
  return v;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Validates every row against the registry as it is now and says what importing it would do. */
export function planImport(registry: Pick<Registry, 'getSite'>, parsed: ReturnType<typeof parseSitesCsv>): { rows: RowPlan[]; errors: RowError[]; inputs: Map<string, SiteValues> } {
  const errors = [...parsed.errors];
  const rows: RowPlan[] = [];
  const inputs = new Map<string, SiteValues>();
  const seen = new Map<string, number>();
  for (const row of parsed.rows) {
    const problems: string[] = [];
    const codeCheck = SiteCode.safeParse(row.code);
    if (!codeCheck.success) problems.push(`code: ${row.code === '' ? 'required' : formatIssues(codeCheck.error)[0]}`);
    const first = seen.get(row.code.toLowerCase());
    if (first !== undefined) problems.push(`code: ${row.code} already appears on line ${first}`);
    else if (row.code) seen.set(row.code.toLowerCase(), row.line);
    if (problems.length) {
      errors.push({ line: row.line, code: row.code || undefined, errors: problems });
      continue;
    }
    const existing = registry.getSite(row.code);
    const before = existing ? siteValues(existing) : {};
    const merged: SiteValues = { ...before };
    for (const [field, value] of Object.entries(row.values) as [SiteField, unknown][]) {
      if (value === null) delete merged[field];
      else merged[field] = value;
    }
    const check = SiteInput.safeParse({ code: row.code, ...merged });
    if (!check.success) {
      const messages = formatIssues(check.error).map((m) => {
        const [field, ...rest] = m.split(': ');
        const column = FIELD_COLUMN[field as SiteField];
        if (field === 'name' && rest[0] === 'required') return 'name: required for a new site';
        return column ? `${column}: ${rest.join(': ')}` : m;
      });
      errors.push({ line: row.line, code: row.code, errors: messages });
      continue;
    }
    const after = siteValues({ ...(check.data as unknown as Site) });
    const changes: RowChange[] = [];
    for (const field of Object.keys(row.values) as SiteField[]) {
      if (!same(before[field], after[field])) changes.push({ column: FIELD_COLUMN[field], from: before[field], to: after[field] });
    }
    rows.push({ line: row.line, code: row.code, action: existing ? (changes.length ? 'update' : 'unchanged') : 'create', changes: existing ? changes : [] });
    inputs.set(row.code, after);
  }
  errors.sort((a, b) => a.line - b.line);
  return { rows, errors, inputs };
}

/**
 * Imports a CSV of sites. A dry run (or any invalid row, unless `allowPartial`) writes nothing and says
 * what would happen; otherwise every valid row is written in one transaction.
 * Throws CsvFormatError when the file as a whole cannot be read.
 */
export function importSitesCsv(
  registry: Registry,
  input: string | Uint8Array,
  opts: { dryRun?: boolean; allowPartial?: boolean; actor?: string } = {},
): ImportReport {
  const parsed = parseSitesCsv(input);
  const run = () => {
    const plan = planImport(registry, parsed);
    const report: ImportReport = {
      dryRun: opts.dryRun ?? false,
      applied: false,
      created: plan.rows.filter((r) => r.action === 'create').length,
      updated: plan.rows.filter((r) => r.action === 'update').length,
      unchanged: plan.rows.filter((r) => r.action === 'unchanged').length,
      invalid: plan.errors.length,
      rows: plan.rows,
      errors: plan.errors,
    };
    if (report.dryRun || (plan.errors.length > 0 && !opts.allowPartial)) return report;
    const actor = opts.actor ?? 'registry';
    for (const row of plan.rows) {
      const values = plan.inputs.get(row.code)!;
      if (row.action === 'create') registry.addSite({ code: row.code, ...values } as Parameters<Registry['addSite']>[0], actor);
      else if (row.action === 'update') {
        const patch: Record<string, unknown> = {};
        for (const change of row.changes) {
          const field = COLUMN_FIELD[change.column as Exclude<CsvColumn, 'code'>];
          patch[field] = values[field] ?? (field === 'groups' ? [] : null);
        }
        registry.updateSite(row.code, patch, actor);
      }
    }
    report.applied = true;
    return report;
  };
  // Planning and writing in one write transaction: nobody changes a site between the check and the write.
  return opts.dryRun ? run() : registry.transaction(run);
}

/** Row errors as the API's error `details`: one per problem, with its line. */
export function errorDetails(errors: RowError[]): ErrorDetail[] {
  return errors.flatMap((e) => e.errors.map((message) => ({ line: e.line, ...(e.code ? { path: e.code } : {}), message })));
}

/** The sites as CSV, with the same columns the import reads. A BOM makes Excel read the Vietnamese names as UTF-8. */
export function exportSitesCsv(sites: Site[], opts: { bom?: boolean } = {}): string {
  const records = sites.map((s) => [
    s.code, s.name, s.commune ?? '', s.province ?? '', s.operator ?? '', s.linkType ?? '',
    s.latitude ?? '', s.longitude ?? '', s.students ?? '', s.groups.join(';'), s.profile ?? '', s.notes ?? '',
  ]);
  const body = stringify([[...CSV_COLUMNS], ...records], { record_delimiter: 'windows', cast: { number: (n) => String(n) }, escape_formulas: true });
  return (opts.bom === false ? '' : '\uFEFF') + body;
}

/** A dry run or import report as lines for a terminal. */
export function formatReport(report: ImportReport): string[] {
  const show = (v: unknown) => (v === undefined ? '(empty)' : Array.isArray(v) ? JSON.stringify(v.join(';')) : typeof v === 'string' ? JSON.stringify(v) : String(v));
  const lines: string[] = [];
  const all = [
    ...report.rows.map((r) => ({ line: r.line, text: `${r.code}  ${r.action === 'create' ? 'created' : r.action === 'update' ? 'updated' : 'unchanged'}${r.changes.length ? `: ${r.changes.map((c) => `${c.column} ${show(c.from)} -> ${show(c.to)}`).join(', ')}` : ''}` })),
    ...report.errors.map((e) => ({ line: e.line, text: `${e.code ?? '-'}  invalid: ${e.errors.join('; ')}` })),
  ].sort((a, b) => a.line - b.line);
  for (const r of all) lines.push(`line ${r.line}  ${r.text}`);
  const verb = report.applied ? '' : report.dryRun ? 'would be ' : 'not ';
  const summary = `${report.created} ${verb}created, ${report.updated} ${verb}updated, ${report.unchanged} unchanged, ${report.invalid} invalid`;
  lines.push(
    report.dryRun
      ? `dry run: ${summary}; nothing was written`
      : report.applied
        ? `imported: ${summary}${report.invalid ? ' (skipped)' : ''}`
        : `nothing imported: ${summary}; fix the invalid rows, or import the valid ones with --allow-partial`,
  );
  return lines;
}
