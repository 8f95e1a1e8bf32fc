// Message text in Vietnamese and English. Every message about sites links each one to its Grafana
// dashboard: `<grafanaUrl>/d/songcheck-site?var-site=CODE`.
import { DEFAULT_TIME_ZONE, formatLocalMinute } from '../school/zone.ts';
import { RULE_KINDS } from './rules/index.ts';
import type { AlertMessage, Lang } from './types.ts';

export const SITE_DASHBOARD_UID = 'songcheck-site';

export function siteDashboardUrl(grafanaUrl: string, siteCode: string): string {
  return `${grafanaUrl.replace(/\/+$/, '')}/d/${SITE_DASHBOARD_UID}?var-site=${encodeURIComponent(siteCode)}`;
}

export interface Rendered {
  subject: string;
  text: string;
}

const WORDS = {
  en: {
    firing: 'ALERT', reminder: 'STILL FIRING', resolved: 'RESOLVED', group_firing: 'ALERT (grouped)', group_resolved: 'RESOLVED (grouped)',
    digest: 'Daily alert digest', channel_failing: 'Alert channel failing',
    likelyTower: (n: number, by: string, v: string) => `${n} sites of ${by} ${v} at once: likely one tower or operator fault.`,
    groupResolved: (n: number, by: string, v: string) => `All ${n} sites of ${by} ${v} are back.`,
    channel: (c: string, lines: string) => `Channel "${c}" keeps failing to deliver: ${lines}`,
    time: 'at', by: { commune: 'commune', operator: 'operator' },
  },
  vi: {
    firing: 'CẢNH BÁO', reminder: 'VẪN CÒN CẢNH BÁO', resolved: 'ĐÃ KHẮC PHỤC', group_firing: 'CẢNH BÁO (theo nhóm)', group_resolved: 'ĐÃ KHẮC PHỤC (theo nhóm)',
    digest: 'Tổng hợp cảnh báo trong ngày', channel_failing: 'Kênh cảnh báo bị lỗi',
    likelyTower: (n: number, by: string, v: string) => `${n} điểm trường thuộc ${by} ${v} cùng lúc: có thể do một trạm phát sóng hoặc nhà mạng.`,
    groupResolved: (n: number, by: string, v: string) => `Cả ${n} điểm trường thuộc ${by} ${v} đã hoạt động lại.`,
    channel: (c: string, lines: string) => `Kênh "${c}" liên tục gửi không thành công: ${lines}`,
    time: 'lúc', by: { commune: 'xã', operator: 'nhà mạng' },
  },
} as const;

/** Renders in the school calendar's zone (`timeZone`), as the people on call read the time. */
export function render(message: AlertMessage, lang: Lang, grafanaUrl: string, timeZone = DEFAULT_TIME_ZONE): Rendered {
  const localTime = (at: number) => formatLocalMinute(at, timeZone);
  const w = WORDS[lang];
  const title = message.ruleKind ? (RULE_KINDS[message.ruleKind]?.title[lang] ?? message.ruleKind) : '';
  const siteLine = (s: AlertMessage['sites'][number]) => `- ${s.name} (${s.code})${s.summary ? `: ${s.summary}` : ''}\n  ${siteDashboardUrl(grafanaUrl, s.code)}`;
  const when = `${w.time} ${localTime(message.at)}`;
  const by = message.group ? w.by[message.group.by as 'commune' | 'operator'] ?? message.group.by : '';
  switch (message.kind) {
    case 'firing':
    case 'reminder':
    case 'resolved': {
      const site = message.sites[0]!;
      return { subject: `[${w[message.kind]}] ${title}: ${site.name} (${site.code})`, text: `${w[message.kind]}: ${title} ${when}\n${message.sites.map(siteLine).join('\n')}` };
    }
    case 'group_firing':
    case 'group_resolved': {
      const g = message.group!;
      const lead = message.kind === 'group_firing' ? w.likelyTower(message.sites.length, by, g.value) : w.groupResolved(message.sites.length, by, g.value);
      return { subject: `[${w[message.kind]}] ${title}: ${by} ${g.value} (${message.sites.length})`, text: `${w[message.kind]}: ${title} ${when}\n${lead}\n${message.sites.map(siteLine).join('\n')}` };
    }
    case 'digest':
      return { subject: `${w.digest} ${localTime(message.at).slice(0, 10)}`, text: `${w.digest} ${when}\n${(message.lines ?? []).join('\n')}\n${message.sites.map(siteLine).join('\n')}` };
    case 'channel_failing':
      return { subject: `${w.channel_failing}: ${message.channel}`, text: w.channel(message.channel ?? '?', (message.lines ?? []).join('; ')) };
  }
}
