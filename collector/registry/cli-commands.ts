// The registry's commands: sites, enrollment codes, devices and the audit log, on this machine's
// registry database (they work while serve runs: the running collector sees their changes through the
// registry's change feed).
import fs from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import type { CliCommand, CliHelpers } from '../command-line.ts';
import { loadRegistryConfig } from '../config.ts';
import { RegistryError } from './registry.ts';
import { createSheetEntries, enrollCommand, filterSites, formatDate, renderSheets, selectSites, sheetsCsv } from './sheets.ts';
import { CsvFormatError, exportSitesCsv, formatReport, type ImportReport, importSitesCsv } from './sites-csv.ts';
import { LINK_TYPES, SiteCode, type SiteInput, type SitePatch } from './site.ts';

export const REGISTRY_HELP = `  sites add --code CODE --name NAME [--commune X] [--province X] [--operator X]
            [--link-type ${LINK_TYPES.join('|')}] [--lat N --lon N] [--students N] [--group LABEL ...]
            [--profile NAME] [--notes TEXT]
  sites edit --code CODE [same options as add] [--clear FIELD ...]
                             change a site; --group replaces all labels; --clear empties a field
                             (commune, province, operator, link-type, location, students, groups, profile, notes)
  sites list [--group LABEL] [--commune X] [--json]
  sites import FILE [--dry-run] [--allow-partial]
                             create or update sites from a CSV (UTF-8; FILE "-" reads stdin); with invalid
                             rows nothing is imported unless --allow-partial
  sites export [--out FILE] [--no-bom]
                             all sites as CSV, in the format import reads (stdout by default)

  enroll-code --site CODE [--uses N] [--ttl-days N] [--sheet FILE]
  enroll-code (--site CODE ... | --group LABEL | --commune X | --all) --sheet FILE [--codes-csv FILE] [--uses N] [--ttl-days N]
                             create enrollment codes (only their hashes are stored); --sheet writes a printable
                             page per site with the code and a QR code; --codes-csv the codes for a mail merge
  codes list [--site CODE] [--active] [--json]
  codes revoke --id ID       withdraw a code that was lost; devices already enrolled keep working

  devices list [--site CODE] [--all] [--duplicates] [--json]
                             --all includes revoked devices; --duplicates shows only shared fingerprints
  devices revoke --id ID [--reason TEXT]
                             refuse the device's token from now on (its open connections close at once)
  devices move --id ID --site CODE
                             the device's future results carry the other site's tags`;

export const AUDIT_HELP = `  audit [--subject X] [--limit N] [--json]
                             who changed what: sites, codes, devices`;

const decimal = (what: string) => z.string().regex(/^-?\d+(\.\d+)?$/, `must be ${what}`).transform(Number);
const integer = z.string().regex(/^\d+$/, 'must be a whole number').transform(Number);

const siteFieldOptions = {
  name: { type: 'string' }, commune: { type: 'string' }, province: { type: 'string' }, operator: { type: 'string' },
  'link-type': { type: 'string' }, lat: { type: 'string' }, lon: { type: 'string' }, students: { type: 'string' },
  group: { type: 'string', multiple: true }, profile: { type: 'string' }, notes: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const siteFieldArgs = {
  name: z.string().optional(),
  commune: z.string().optional(),
  province: z.string().optional(),
  operator: z.string().optional(),
  'link-type': z.enum(LINK_TYPES, { error: `must be one of ${LINK_TYPES.join(', ')}` }).optional(),
  lat: decimal('a latitude in degrees, e.g. 22.48').pipe(z.number().min(-90).max(90)).optional(),
  lon: decimal('a longitude in degrees, e.g. 103.97').pipe(z.number().min(-180).max(180)).optional(),
  students: integer.optional(),
  group: z.array(z.string().min(1)).optional(),
  profile: z.string().optional(),
  notes: z.string().optional(),
};

const SitesAddArgs = z
  .object({ code: SiteCode, ...siteFieldArgs })
  .refine((a) => (a.lat === undefined) === (a.lon === undefined), { message: 'give --lat and --lon together', path: ['lat'] });

const CLEARABLE = ['commune', 'province', 'operator', 'link-type', 'location', 'students', 'groups', 'profile', 'notes'] as const;
const SitesEditArgs = z
  .object({ code: SiteCode, ...siteFieldArgs, clear: z.array(z.enum(CLEARABLE, { error: `must be one of ${CLEARABLE.join(', ')}` })).optional() })
  .refine((a) => (a.lat === undefined) === (a.lon === undefined), { message: 'give --lat and --lon together', path: ['lat'] });

const EnrollCodeArgs = z
  .object({
    site: z.array(SiteCode).optional(),
    group: z.string().min(1).optional(),
    commune: z.string().min(1).optional(),
    all: z.boolean().optional(),
    uses: integer.pipe(z.number().min(1).max(10_000)).optional(),
    'ttl-days': decimal('a number of days').pipe(z.number().gt(0).max(3650)).optional(),
    sheet: z.string().min(1).optional(),
    'codes-csv': z.string().min(1).optional(),
  })
  .refine((a) => [a.site, a.group, a.commune, a.all].filter((x) => x !== undefined).length === 1, {
    message: 'choose the sites with one of --site CODE (repeatable), --group, --commune or --all',
    path: ['site'],
  })
  .refine((a) => (a.site?.length === 1) || a.sheet !== undefined || a['codes-csv'] !== undefined, {
    message: 'for more than one site give --sheet FILE (printable pages) and/or --codes-csv FILE',
    path: ['sheet'],
  });

export function registryCommands(h: CliHelpers): Record<string, CliCommand> {
  const { parse, withRegistry, out, table, actor, usage, refused } = h;

  async function sitesAdd(args: string[]): Promise<void> {
    const a = parse(args, { code: { type: 'string' }, ...siteFieldOptions }, SitesAddArgs, ['code', 'name']);
    const input: SiteInput = {
      code: a.code, name: a.name!, commune: a.commune, province: a.province, operator: a.operator, linkType: a['link-type'],
      latitude: a.lat, longitude: a.lon, students: a.students, groups: a.group ?? [], profile: a.profile, notes: a.notes,
    };
    const site = await withRegistry((r) => r.addSite(input, actor()));
    out(`added site ${site.code} (${site.name})`);
  }

  async function sitesEdit(args: string[]): Promise<void> {
    const a = parse(args, { code: { type: 'string' }, ...siteFieldOptions, clear: { type: 'string', multiple: true } }, SitesEditArgs, ['code']);
    const patch: SitePatch = {
      name: a.name, commune: a.commune, province: a.province, operator: a.operator, linkType: a['link-type'],
      latitude: a.lat, longitude: a.lon, students: a.students, groups: a.group, profile: a.profile, notes: a.notes,
    };
    for (const field of a.clear ?? []) {
      if (field === 'location') patch.latitude = patch.longitude = null;
      else if (field === 'groups') patch.groups = [];
      else if (field === 'link-type') patch.linkType = null;
      else patch[field] = null;
    }
    const { site, changed } = await withRegistry((r) => r.updateSite(a.code, patch, actor()));
    out(changed.length ? `updated site ${site.code}: ${changed.join(', ')}` : `site ${site.code} unchanged`);
  }

  async function sitesList(args: string[]): Promise<void> {
    const a = parse(args, { json: { type: 'boolean' }, group: { type: 'string' }, commune: { type: 'string' } },
      z.object({ json: z.boolean().optional(), group: z.string().optional(), commune: z.string().optional() }));
    const sites = filterSites(await withRegistry((r) => r.listSites()), a);
    if (a.json) return out(JSON.stringify(sites, null, 2));
    table([['CODE', 'NAME', 'COMMUNE', 'OPERATOR', 'LINK'], ...sites.map((s) => [s.code, s.name, s.commune ?? '', s.operator ?? '', s.linkType ?? ''])]);
  }

  function readInput(file: string): Buffer {
    try {
      return fs.readFileSync(file === '-' ? 0 : file);
    } catch (error) {
      throw usage(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }

  function writeOutput(file: string, content: string): void {
    try {
      fs.writeFileSync(file, content);
    } catch (error) {
      throw usage(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }

  async function sitesImport(args: string[]): Promise<number> {
    const a = parse(args, { 'dry-run': { type: 'boolean' }, 'allow-partial': { type: 'boolean' } },
      z.object({ 'dry-run': z.boolean().optional(), 'allow-partial': z.boolean().optional() }), [], 1);
    const file = a._[0];
    if (file === undefined) throw usage('give the CSV file to import (or - for stdin)');
    const bytes = readInput(file);
    let report: ImportReport;
    try {
      report = await withRegistry((r) => importSitesCsv(r, bytes, { dryRun: a['dry-run'], allowPartial: a['allow-partial'], actor: actor() }));
    } catch (error) {
      if (error instanceof CsvFormatError) throw refused(`${file}: ${error.message}`);
      throw error;
    }
    for (const line of formatReport(report)) out(line);
    return report.invalid > 0 && !(report.applied && a['allow-partial']) ? 1 : 0;
  }

  async function sitesExport(args: string[]): Promise<void> {
    const a = parse(args, { out: { type: 'string' }, 'no-bom': { type: 'boolean' } }, z.object({ out: z.string().min(1).optional(), 'no-bom': z.boolean().optional() }));
    const sites = await withRegistry((r) => r.listSites());
    const csv = exportSitesCsv(sites, { bom: !a['no-bom'] });
    if (a.out) {
      writeOutput(a.out, csv);
      process.stderr.write(`wrote ${sites.length} site(s) to ${a.out}\n`);
    } else process.stdout.write(csv);
  }

  function collectorUrl(publicUrl: string | undefined): string {
    return publicUrl ?? `http://${process.env.SONGCHECK_HOST || '127.0.0.1'}:${process.env.SONGCHECK_PORT || '8080'}`;
  }

  async function enrollCode(args: string[]): Promise<void> {
    const a = parse(
      args,
      {
        site: { type: 'string', multiple: true }, group: { type: 'string' }, commune: { type: 'string' }, all: { type: 'boolean' },
        uses: { type: 'string' }, 'ttl-days': { type: 'string' }, sheet: { type: 'string' }, 'codes-csv': { type: 'string' },
      },
      EnrollCodeArgs,
      [],
      0,
      (v) => (v.site === undefined && v.group === undefined && v.commune === undefined && v.all === undefined ? '--site is required (or --group, --commune or --all)' : undefined),
    );
    const config = loadRegistryConfig();
    const url = collectorUrl(config.publicUrl);
    await withRegistry(async (registry) => {
      const { sites, missing } = await selectSites(registry, { sites: a.site, group: a.group, commune: a.commune, all: a.all });
      if (missing.length) throw new RegistryError('site_not_found', `no site with code ${missing.join(', ')}; add it first`);
      if (sites.length === 0) throw new RegistryError('site_not_found', 'no site matches');
      const entries = await createSheetEntries(registry, sites, { uses: a.uses, ttlDays: a['ttl-days'], actor: actor() });
      if (a.sheet) writeOutput(a.sheet, await renderSheets(entries, url));
      if (a['codes-csv']) writeOutput(a['codes-csv'], sheetsCsv(entries, url));
      const first = entries[0]!;
      if (entries.length === 1 && !a.sheet && !a['codes-csv']) {
        // The code alone on stdout so scripts can capture it; the human hint on stderr.
        out(first.code);
        process.stderr.write(`valid until ${new Date(first.expiresAt).toISOString().slice(0, 10)} for ${first.uses} device(s); on the school computer run: ${enrollCommand(url, first.code)}\n`);
        return;
      }
      const written = [a.sheet && `${a.sheet} (printable sheets)`, a['codes-csv'] && `${a['codes-csv']} (codes as CSV)`].filter(Boolean).join(' and ');
      process.stderr.write(`created ${entries.length} enrollment code(s), valid until ${formatDate(first.expiresAt)} for ${first.uses} device(s) each; wrote ${written}\n`);
    });
  }

  async function codesList(args: string[]): Promise<void> {
    const a = parse(args, { site: { type: 'string' }, active: { type: 'boolean' }, json: { type: 'boolean' } },
      z.object({ site: SiteCode.optional(), active: z.boolean().optional(), json: z.boolean().optional() }));
    const codes = await withRegistry((r) => r.listEnrollmentCodes({ siteCode: a.site, activeOnly: a.active }));
    if (a.json) return out(JSON.stringify(codes, null, 2));
    table([['ID', 'SITE', 'CREATED', 'EXPIRES', 'USES LEFT', 'STATUS'], ...codes.map((c) => [c.id, c.siteCode, isoDay(c.createdAt), isoDay(c.expiresAt), `${c.usesLeft}/${c.usesTotal}`, c.status])]);
  }

  async function codesRevoke(args: string[]): Promise<void> {
    const a = parse(args, { id: { type: 'string' } }, z.object({ id: z.string().min(1) }), ['id']);
    const changed = await withRegistry((r) => r.revokeEnrollmentCode(a.id, actor()));
    out(changed ? `withdrew enrollment code ${a.id}` : `enrollment code ${a.id} was already withdrawn`);
  }

  const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const isoMinute = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));

  async function devicesList(args: string[]): Promise<void> {
    const a = parse(args, { site: { type: 'string' }, all: { type: 'boolean' }, duplicates: { type: 'boolean' }, json: { type: 'boolean' } },
      z.object({ site: SiteCode.optional(), all: z.boolean().optional(), duplicates: z.boolean().optional(), json: z.boolean().optional() }));
    let devices = await withRegistry((r) => r.listDevices({ siteCode: a.site, includeRevoked: a.all }));
    if (a.duplicates) devices = devices.filter((d) => d.duplicateFingerprint);
    if (a.json) return out(JSON.stringify(devices, null, 2));
    table([
      ['ID', 'SITE', 'HOSTNAME', 'LAST SEEN (UTC)', 'VERSION', 'PLATFORM', 'FINGERPRINT', 'FLAGS'],
      ...devices.map((d) => [
        d.id, d.siteCode, d.hostname ?? '-', isoMinute(d.lastSeenAt), d.agentVersion ?? '-', d.platform ?? '-', d.fingerprint?.slice(0, 12) ?? '-',
        [d.revokedAt !== undefined && `revoked ${isoDay(d.revokedAt)}`, d.duplicateFingerprint && 'DUPLICATE-FINGERPRINT'].filter(Boolean).join(' '),
      ]),
    ]);
  }

  async function devicesRevoke(args: string[]): Promise<void> {
    const a = parse(args, { id: { type: 'string' }, reason: { type: 'string' } }, z.object({ id: z.string().min(1), reason: z.string().min(1).max(500).optional() }), ['id']);
    const changed = await withRegistry((r) => r.revokeDevice(a.id, { reason: a.reason, actor: actor() }));
    out(changed ? `revoked device ${a.id}; its token is refused from now on` : `device ${a.id} was already revoked`);
  }

  async function devicesMove(args: string[]): Promise<void> {
    const a = parse(args, { id: { type: 'string' }, site: { type: 'string' } }, z.object({ id: z.string().min(1), site: SiteCode }), ['id', 'site']);
    const moved = await withRegistry((r) => r.moveDevice(a.id, a.site, actor()));
    out(moved.changed ? `moved device ${a.id} from ${moved.from} to ${moved.to}` : `device ${a.id} is already at ${moved.to}`);
  }

  async function auditCommand(args: string[]): Promise<void> {
    const a = parse(args, { subject: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
      z.object({ subject: z.string().optional(), limit: integer.pipe(z.number().min(1).max(10_000)).optional(), json: z.boolean().optional() }));
    const entries = await withRegistry((r) => r.auditLog({ subject: a.subject, limit: a.limit ?? 50 }));
    if (a.json) return out(JSON.stringify(entries, null, 2));
    table([['WHEN (UTC)', 'WHO', 'ACTION', 'SUBJECT', 'DETAIL'], ...entries.map((e) => [isoMinute(e.at), e.actor, e.action, e.subject, e.detail ? JSON.stringify(e.detail) : ''])]);
  }

  return {
    'sites add': sitesAdd,
    'sites edit': sitesEdit,
    'sites list': sitesList,
    'sites import': sitesImport,
    'sites export': sitesExport,
    'enroll-code': enrollCode,
    'codes list': codesList,
    'codes revoke': codesRevoke,
    'devices list': devicesList,
    'devices revoke': devicesRevoke,
    'devices move': devicesMove,
    audit: auditCommand,
  };
}
