// The alert engine: on each tick (guarded by a lease so one collector process evaluates) it runs every
// rule, steps each site's state machine and decides what to say. A notification is written to the outbox
// in the same SQLite transaction that marks the alert notified, so a restart neither repeats it nor loses
// it; the dispatcher (dispatcher.ts) sends the outbox.
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.ts';
import type { Site } from '../registry/site.ts';
import type { AlertsConfig, RuleConfig } from './config.ts';
import { RULE_KINDS } from './rules/index.ts';
import type { SchoolTime } from '../school/school-time.ts';
import { localParts } from '../school/zone.ts';
import type { FloorFor } from './profile-floor.ts';
import { step } from './state-machine.ts';
import type { AlertState, AlertStore, Silence } from './store.ts';
import type { AlertMessage, Observation, RuleContext } from './types.ts';

export interface EngineDeps {
  config: AlertsConfig;
  store: AlertStore;
  registry: Pick<Registry, 'listSites' | 'listDevices'>;
  query: RuleContext['query'];
  school: SchoolTime;
  floorFor: FloorFor;
  clock: () => number;
  logger?: Logger;
  /** Identifies this process in the lease. */
  holder?: string;
}

export const LEASE = 'alerts-evaluator';

export interface TickReport {
  evaluated: boolean;
  enqueued: number;
  errors: string[];
}

export class AlertEngine {
  private readonly holder: string;
  constructor(private readonly deps: EngineDeps) {
    this.holder = deps.holder ?? `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Channel ids a rule's messages go to. */
  channelsFor(rule?: RuleConfig): string[] {
    const enabled = this.deps.config.channels.filter((c) => c.enabled).map((c) => c.id);
    return rule?.channels ? enabled.filter((id) => rule.channels!.includes(id)) : enabled;
  }

  async tick(): Promise<TickReport> {
    const { config, store, clock } = this.deps;
    const now = clock();
    const report: TickReport = { evaluated: false, enqueued: 0, errors: [] };
    // The lease outlives two ticks, so a process that dies hands over within that time.
    if (!store.tryLease(LEASE, this.holder, now, config.evaluateEverySeconds * 2500)) return report;
    report.evaluated = true;
    const sites = this.deps.registry.listSites();
    const siteBy = new Map(sites.map((s) => [s.code, s]));
    const ctx: RuleContext = {
      now, sites, devices: this.deps.registry.listDevices().filter((d) => d.revokedAt === undefined),
      query: this.deps.query, school: this.deps.school, floorFor: this.deps.floorFor,
    };
    for (const rule of config.rules.filter((r) => r.enabled)) {
      let observations: Observation[];
      try {
        observations = await RULE_KINDS[rule.kind]!.evaluate(rule.params, ctx);
      } catch (error) {
        // A rule that cannot evaluate (InfluxDB down) changes nothing: no state moves on missing evidence.
        report.errors.push(`${rule.id}: ${(error as Error).message}`);
        this.deps.logger?.warn({ rule: rule.id, err: error }, 'alert rule evaluation failed');
        continue;
      }
      report.enqueued += store.transaction(() => this.apply(rule, observations, siteBy, now));
    }
    report.enqueued += store.transaction(() => this.digestIfDue(now, siteBy));
    return report;
  }

  private suppressed(rule: RuleConfig, site: Site | undefined, siteCode: string, now: number, silences: Silence[]): boolean {
    if (rule.quietOutsideSchool && !this.deps.school.isSchoolTime(siteCode, now)) return true;
    const groups = site ? [`commune:${site.commune ?? ''}`, `operator:${site.operator ?? ''}`] : [];
    return silences.some(
      (s) => (s.ruleId === undefined || s.ruleId === rule.id) && (s.siteCode === undefined || s.siteCode === siteCode) && (s.groupKey === undefined || groups.includes(s.groupKey)),
    );
  }

  private enqueue(rule: RuleConfig | undefined, message: AlertMessage, now: number): number {
    const channels = this.channelsFor(rule);
    for (const channel of channels) this.deps.store.enqueue(channel, message, now);
    return channels.length;
  }

  private apply(rule: RuleConfig, observations: Observation[], siteBy: Map<string, Site>, now: number): number {
    const { store } = this.deps;
    const base = { ruleId: rule.id, ruleKind: rule.kind, severity: rule.severity, at: now };
    const siteRef = (st: AlertState) => ({ code: st.siteCode, name: siteBy.get(st.siteCode)?.name ?? st.siteCode, summary: st.summary });
    let enqueued = 0;
    const toAnnounce: AlertState[] = [];
    const resolvedGroups = new Set<string>();
    const silences = store.silences(now);
    const previous = new Map(store.states(rule.id).map((s) => [s.siteCode, s]));
    for (const obs of observations) {
      const prev = previous.get(obs.siteCode);
      // Nothing raised at a site that is ok (or resolved): no transition, so no write. Most sites, most ticks.
      if (!obs.raise && (prev === undefined || prev.state === 'ok' || prev.state === 'resolved')) continue;
      const { next, transition } = step(prev, obs, rule, now);
      const quiet = this.suppressed(rule, siteBy.get(obs.siteCode), obs.siteCode, now, silences);
      if (transition === 'resolved') {
        // Only an incident someone was told about gets a resolution; one held back in quiet hours ends quietly.
        if (next.groupId) resolvedGroups.add(next.groupId);
        else if (next.notifiedAt !== undefined) enqueued += this.enqueue(rule, { ...base, kind: 'resolved', sites: [siteRef(next)] }, now);
      } else if (next.state === 'firing' && next.notifiedAt === undefined && next.ackedAt === undefined && !quiet) {
        toAnnounce.push(next);
      } else if (next.state === 'firing' && next.notifiedAt !== undefined && next.ackedAt === undefined && !quiet && rule.renotifyMinutes > 0
        // Twelve reminders for one tower would undo the grouping: grouped alerts are reminded by the digest.
        && next.groupId === undefined
        && now - (next.lastNotifiedAt ?? next.notifiedAt) >= rule.renotifyMinutes * 60_000) {
        next.lastNotifiedAt = now;
        enqueued += this.enqueue(rule, { ...base, kind: 'reminder', sites: [siteRef(next)] }, now);
      }
      store.putState(next);
    }
    enqueued += this.announce(rule, toAnnounce, siteBy, now, siteRef);
    // A group resolves as one message once none of its sites is still firing.
    for (const groupId of resolvedGroups) {
      const members = store.states(rule.id).filter((s) => s.groupId === groupId);
      if (members.some((s) => s.state === 'firing')) continue;
      const [by, value] = groupId.split('|').slice(1) as [string, string];
      enqueued += this.enqueue(rule, { ...base, kind: 'group_resolved', group: { by, value, id: groupId }, sites: members.map(siteRef) }, now);
    }
    return enqueued;
  }

  /** New firing alerts: grouped when enough sites of one commune/operator fire within the window, else one each. */
  private announce(rule: RuleConfig, fresh: AlertState[], siteBy: Map<string, Site>, now: number, siteRef: (s: AlertState) => AlertMessage['sites'][number]): number {
    const { store } = this.deps;
    const base = { ruleId: rule.id, ruleKind: rule.kind, severity: rule.severity, at: now };
    let enqueued = 0;
    const single: AlertState[] = [];
    if (!rule.group) single.push(...fresh);
    else {
      const by = rule.group.by;
      const keyOf = (code: string) => siteBy.get(code)?.[by];
      const buckets = new Map<string, AlertState[]>();
      for (const s of fresh) {
        const key = keyOf(s.siteCode);
        if (key === undefined) single.push(s);
        else buckets.set(key, [...(buckets.get(key) ?? []), s]);
      }
      const recent = store.states(rule.id).filter((s) => s.state === 'firing' && (s.firedAt ?? 0) >= now - rule.group!.windowMinutes * 60_000);
      for (const [key, list] of buckets) {
        const peers = recent.filter((s) => keyOf(s.siteCode) === key);
        const open = peers.find((s) => s.groupId !== undefined)?.groupId;
        if (open) {
          // The group was announced moments ago: join it silently; the digest and the resolution list it.
          for (const s of list) store.putState({ ...s, groupId: open, notifiedAt: now, lastNotifiedAt: now });
          continue;
        }
        if (peers.length < rule.group.minSites) {
          single.push(...list);
          continue;
        }
        const groupId = `${rule.id}|${by}|${key}|${now}`;
        for (const s of list) store.putState({ ...s, groupId, notifiedAt: now, lastNotifiedAt: now });
        enqueued += this.enqueue(rule, { ...base, kind: 'group_firing', group: { by, value: key, id: groupId }, sites: list.map(siteRef) }, now);
      }
    }
    for (const s of single) {
      store.putState({ ...s, notifiedAt: now, lastNotifiedAt: now });
      enqueued += this.enqueue(rule, { ...base, kind: 'firing', sites: [siteRef(s)] }, now);
    }
    return enqueued;
  }

  /** Once a day at digest.atLocal: what is firing now and what happened since the last digest. */
  private digestIfDue(now: number, siteBy: Map<string, Site>): number {
    const { config, store } = this.deps;
    if (!config.digest.enabled) return 0;
    // The calendar's zone: the digest goes out at atLocal where the schools are.
    const { date: day, minuteOfDay: minutes } = localParts(now, this.deps.school.timeZone);
    const [h, m] = config.digest.atLocal.split(':').map(Number) as [number, number];
    if (minutes < h * 60 + m || store.getMeta('digest_day') === day) return 0;
    const since = Number(store.getMeta('digest_at') ?? now - 86_400_000);
    store.setMeta('digest_day', day);
    store.setMeta('digest_at', String(now));
    const states = store.states();
    const firing = states.filter((s) => s.state === 'firing');
    const lines = [
      `firing=${firing.length} fired_since_last=${states.filter((s) => (s.firedAt ?? 0) > since).length} resolved_since_last=${states.filter((s) => (s.resolvedAt ?? 0) > since).length}`,
      ...firing.map((s) => `${s.ruleId} ${s.siteCode}${s.ackedAt ? ' (ack)' : ''}: ${s.summary ?? ''}`),
    ];
    const sites = [...new Set(firing.map((s) => s.siteCode))].map((code) => ({ code, name: siteBy.get(code)?.name ?? code }));
    return this.enqueue(undefined, { kind: 'digest', at: now, sites, lines }, now);
  }
}
