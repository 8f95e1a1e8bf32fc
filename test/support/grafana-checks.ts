// Consistency checks over the committed Grafana files: each returns the problems it finds (empty = fine), so a
// test can also feed it a broken copy and see the problem reported.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Dashboard } from './grafana-panels.ts';

const MACROS = new Set(['timeFilter', '__timeFilter', '__interval', '__interval_ms', 'interval', '__from', '__to']);
const VIETNAMESE = /[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]/i;

export function checkDashboards(dashboards: Dashboard[], datasourceUid: string): string[] {
  const problems: string[] = [];
  const uids = new Map(dashboards.map((d) => [d.uid, d]));
  if (uids.size !== dashboards.length) problems.push('two dashboards share a uid');
  for (const d of dashboards) {
    const vars = new Set(d.templating.list.map((v) => v.name));
    const used = (q: string, where: string) => {
      for (const m of q.matchAll(/\$\{?(\w+)/g)) if (!MACROS.has(m[1]!) && !vars.has(m[1]!)) problems.push(`${d.uid}: ${where} uses undefined variable $${m[1]}`);
    };
    for (const v of d.templating.list) {
      if (v.datasource.uid !== datasourceUid) problems.push(`${d.uid}: variable ${v.name} uses datasource ${v.datasource.uid}`);
      used(v.query, `variable ${v.name}`);
    }
    const links: string[] = d.links.flatMap((l) => (l.url ? [l.url] : []));
    for (const p of d.panels) {
      const where = `panel "${p.title}"`;
      if (p.datasource.uid !== datasourceUid) problems.push(`${d.uid}: ${where} uses datasource ${p.datasource.uid}`);
      if (!p.title.trim()) problems.push(`${d.uid}: panel ${p.id} has no title`);
      if (!p.description.trim() || VIETNAMESE.test(p.description)) problems.push(`${d.uid}: ${where} needs an English description`);
      if (p.targets.length === 0) problems.push(`${d.uid}: ${where} has no query`);
      for (const t of p.targets) {
        if (t.datasource.uid !== datasourceUid) problems.push(`${d.uid}: ${where} ${t.refId} uses datasource ${t.datasource.uid}`);
        used(t.query, `${where} ${t.refId}`);
      }
      links.push(...[...JSON.stringify(p.fieldConfig).matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]!));
    }
    for (const url of links) {
      const m = /^\/d\/([\w-]+)(?:\?(.*))?$/.exec(url);
      if (!m) {
        problems.push(`${d.uid}: link ${url} is not a /d/<uid> link`);
        continue;
      }
      const target = uids.get(m[1]!);
      if (!target) {
        problems.push(`${d.uid}: link ${url} points at no dashboard`);
        continue;
      }
      const targetVars = new Set(target.templating.list.map((v) => v.name));
      for (const [, name] of (m[2] ?? '').matchAll(/var-(\w+)=/g)) if (!targetVars.has(name!)) problems.push(`${d.uid}: link ${url} sets var-${name}, which ${target.uid} does not have`);
    }
  }
  return problems;
}

export interface AlertingFile {
  groups: { rules: { uid: string; condition: string; data: { refId: string; datasourceUid: string }[] }[] }[];
  contactPoints: { name: string }[];
  policies: { receiver: string; routes?: { receiver: string; mute_time_intervals?: string[] }[] }[];
  muteTimes: { name: string }[];
}

export function checkAlerting(file: AlertingFile, datasourceUid: string): string[] {
  const problems: string[] = [];
  const receivers = new Set(file.contactPoints.map((c) => c.name));
  const mutes = new Set(file.muteTimes.map((m) => m.name));
  for (const rule of file.groups.flatMap((g) => g.rules)) {
    const refs = new Set(rule.data.map((d) => d.refId));
    if (!refs.has(rule.condition)) problems.push(`rule ${rule.uid}: condition ${rule.condition} is not one of its queries`);
    for (const d of rule.data) if (d.datasourceUid !== datasourceUid && d.datasourceUid !== '__expr__') problems.push(`rule ${rule.uid}: datasource ${d.datasourceUid} is not provisioned`);
  }
  for (const p of file.policies) {
    for (const r of [p, ...(p.routes ?? [])]) {
      if (!receivers.has(r.receiver)) problems.push(`policy receiver ${r.receiver} is not a contact point`);
      for (const m of ('mute_time_intervals' in r ? (r.mute_time_intervals ?? []) : [])) if (!mutes.has(m)) problems.push(`mute timing ${m} is not provisioned`);
    }
  }
  return problems;
}

/** Bind mounts of a compose service whose host path is relative must exist in the repository. */
export function missingBindSources(root: string, volumes: string[]): string[] {
  return volumes.filter((v) => v.startsWith('./')).map((v) => v.split(':')[0]!).filter((src) => !existsSync(join(root, src)));
}
