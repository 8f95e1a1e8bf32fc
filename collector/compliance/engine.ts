// The compliance engine: for a period, every site's verdicts from InfluxDB evidence, and (run) the same
// written back as `compliance` points. Sites with the same school calendar share one multi-statement
// set of queries (GROUP BY site), so the number of queries does not grow with the number of sites.
import type { Logger } from 'pino';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Registry } from '../registry/registry.ts';
import type { Site } from '../registry/site.ts';
import type { Interval, SchoolCalendar } from '../school/calendar.ts';
import { judge, type Verdict } from './judge.ts';
import { parsePeriod, type Period } from './periods.ts';
import type { Profiles, ResolvedProfile } from '../school/profiles.ts';
import { EvidenceCollector, intervalStatements, outageMsInSchool, outageStatement, type QueryPlan, type SiteEvidence } from './queries.ts';
import { complianceToPoints, readinessToPoints } from './points.ts';
import { readinessSummary } from './readiness-summary.ts';
import type { ComplianceRun, SiteVerdict } from './verdicts.ts';

export interface EngineDeps {
  writer: Pick<InfluxWriter, 'query' | 'write'>;
  registry: Pick<Registry, 'listSites'>;
  calendar: SchoolCalendar;
  profiles: Profiles;
  clock?: () => number;
  logger?: Logger;
  /** Sites judged per pass (default SITES_PER_PASS). */
  sitesPerPass?: number;
}

/**
 * Sites whose evidence is held in memory at once. A pass holds every TCP-connect run of its sites for the
 * period (readiness needs the runs around each test): at 10 000 sites × a month one pass outgrew node's
 * default 4 GB heap (bench/README.md). A province up to this size is one pass, reading all sites without a
 * site filter; a larger one is judged in passes, each reading its sites through a site-code regex.
 */
export const SITES_PER_PASS = 2500;

/** School-interval requests in flight at once. */
const QUERY_CONCURRENCY = 2;

/** Points per write request when storing verdicts. */
const WRITE_BATCH = 5000;

export class ComplianceEngine {
  private readonly clock: () => number;

  constructor(private readonly deps: EngineDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  get timeZone(): string {
    return this.deps.calendar.timeZone;
  }

  period(text: string): Period {
    return parsePeriod(text, this.timeZone, this.clock());
  }

  /** Verdicts for every site (or the given codes) without writing anything. */
  async evaluate(period: Period, opts: { sites?: string[] } = {}): Promise<ComplianceRun> {
    const wanted = opts.sites ? new Set(opts.sites) : undefined;
    const sites = (await this.deps.registry.listSites()).filter((s) => !wanted || wanted.has(s.code));
    const { calendar, profiles } = this.deps;
    const resolved = new Map(sites.map((s) => [s.code, profiles.resolve(s)]));

    // One query per calendar variant; the default variant reads all sites unless a subset was asked for.
    const variants = new Map<string, Site[]>();
    for (const s of sites) {
      const key = calendar.variantKey(s);
      variants.set(key, [...(variants.get(key) ?? []), s]);
    }
    let queryMs = 0;
    const verdicts: SiteVerdict[] = [];
    for (const [key, members] of variants) {
      const intervals = calendar.schoolIntervals(period.start, period.judgedUntil, members[0]);
      const schoolMs = intervals.reduce((sum, i) => sum + i.end - i.start, 0);
      const perPass = this.deps.sitesPerPass ?? SITES_PER_PASS;
      for (let from = 0; from < members.length; from += perPass) {
        const pass = members.slice(from, from + perPass);
        const started = performance.now();
        const everySite = pass.length === members.length && key === 'default' && !wanted;
        const evidence = await this.fetchEvidence(period, intervals, pass, everySite, resolved);
        queryMs += performance.now() - started;
        for (const site of pass) {
          const profile = resolved.get(site.code)!;
          const e = evidence.get(site.code);
          const judgement = judge(profile, e, period.kind, { ms: schoolMs, outageMs: outageMsInSchool(e?.outages ?? [], intervals) });
          verdicts.push(siteVerdict(site, profile, judgement, schoolMs, e));
        }
      }
    }
    verdicts.sort((a, b) => a.site.localeCompare(b.site));
    const counts: Record<Verdict, number> = { PASS: 0, FAIL: 0, INSUFFICIENT: 0 };
    for (const v of verdicts) counts[v.verdict]++;
    return {
      period: { label: period.label, kind: period.kind, firstDate: period.firstDate, lastDate: period.lastDate, start: period.start, end: period.end, judgedUntil: period.judgedUntil, complete: period.complete, timeZone: this.timeZone },
      generatedAt: this.clock(),
      counts,
      sites: verdicts,
      queryMs: Math.round(queryMs),
    };
  }

  /** evaluate, then write the verdicts as `compliance` points (recomputing a period overwrites them). */
  async run(period: Period, opts: { sites?: string[] } = {}): Promise<ComplianceRun & { pointsWritten: number }> {
    const result = await this.evaluate(period, opts);
    const points = [...complianceToPoints(result, period.pointTime), ...readinessToPoints(result)];
    for (let i = 0; i < points.length; i += WRITE_BATCH) await this.deps.writer.write(points.slice(i, i + WRITE_BATCH));
    this.deps.logger?.info({ period: period.label, sites: result.sites.length, counts: result.counts, points: points.length, queryMs: result.queryMs }, 'compliance computed');
    return { ...result, pointsWritten: points.length };
  }

  private async fetchEvidence(period: Period, intervals: Interval[], members: Site[], allSites: boolean, resolved: Map<string, ResolvedProfile>): Promise<Map<string, SiteEvidence>> {
    if (intervals.length === 0) return new Map();
    const floors = new Map<string, Set<number>>();
    for (const s of members) {
      for (const c of resolved.get(s.code)!.criteria) {
        if (c.floor === undefined) continue;
        const key = c.metric === 'download_mbps' ? 'download' : c.metric === 'upload_mbps' ? 'upload' : c.metric;
        floors.set(key, (floors.get(key) ?? new Set()).add(c.floor));
      }
    }
    const list = (k: string) => [...(floors.get(k) ?? [])];
    const readiness = this.deps.profiles.readiness;
    const plan: QueryPlan = {
      intervals,
      ...(allSites ? {} : { sites: members.map((s) => s.code) }),
      floors: { download: list('download'), upload: list('upload'), video_classes: list('video_classes'), video_call_grade: list('video_call_grade'), streaming_grade: list('streaming_grade') },
      ...(readiness ? { readiness } : {}),
      from: period.start,
      to: period.judgedUntil,
    };
    const collector = new EvidenceCollector();
    collector.addOutages(await this.deps.writer.query(outageStatement(plan)));
    // One request per school interval; a few in flight keep InfluxDB's cores busy without a huge answer.
    let next = 0;
    const worker = async () => {
      while (next < intervals.length) {
        const interval = intervals[next++]!;
        collector.addInterval(await this.deps.writer.query(intervalStatements(interval, plan).join(';\n')));
      }
    };
    await Promise.all(Array.from({ length: Math.min(QUERY_CONCURRENCY, intervals.length) }, worker));
    return collector.evidence(plan);
  }
}

function siteVerdict(site: Site, profile: ResolvedProfile, j: ReturnType<typeof judge>, schoolMs: number, e: SiteEvidence | undefined): SiteVerdict {
  const readiness = readinessSummary(e?.readinessTests);
  return {
    site: site.code,
    name: site.name,
    ...(site.commune ? { commune: site.commune } : {}),
    ...(site.operator ? { operator: site.operator } : {}),
    ...(site.linkType ? { linkType: site.linkType } : {}),
    groups: site.groups,
    ...(profile.students !== undefined ? { students: profile.students } : {}),
    profile: profile.name,
    verdict: j.verdict,
    criteria: j.criteria,
    ...(j.uptimePct !== undefined ? { uptimePct: j.uptimePct } : {}),
    outageMinutes: j.outageMinutes,
    ...(j.observedPct !== undefined ? { observedPct: j.observedPct } : {}),
    schoolHours: Math.round((schoolMs / 3_600_000) * 1000) / 1000,
    reasons: [...j.criteria.filter((c) => c.verdict !== 'PASS' && !c.informational).map((c) => c.reason), ...j.notes],
    warnings: profile.warnings,
    ...(readiness ? { readiness } : {}),
  };
}
