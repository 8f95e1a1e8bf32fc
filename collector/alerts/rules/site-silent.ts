// Site silent: no device of the site has been heard (result or control-channel heartbeat, both update
// devices.last_seen_at) for N minutes of school time. Counting school minutes, not wall minutes, means a
// computer switched off overnight is not "silent" at 07:00; it is after N minutes of the school day.
import { z } from 'zod';
import { schoolMinutesBetween } from '../../school/school-time.ts';
import type { Observation, RuleKind } from '../types.ts';

const params = z
  .object({
    /** Raise after this many minutes of school time without a sign of life. */
    silentMinutes: z.number().int().min(1).max(7 * 24 * 60).default(30),
    /** Clear once the site was heard within this many minutes. */
    clearMinutes: z.number().int().min(1).max(24 * 60).default(10),
  })
  .strict();

export const siteSilent: RuleKind<typeof params> = {
  kind: 'site_silent',
  title: { en: 'Site silent', vi: 'Điểm trường mất liên lạc' },
  params,
  async evaluate(p, ctx) {
    const lastSeen = new Map<string, number>();
    for (const d of ctx.devices) {
      const seen = d.lastSeenAt ?? d.enrolledAt;
      lastSeen.set(d.siteCode, Math.max(lastSeen.get(d.siteCode) ?? 0, seen));
    }
    const out: Observation[] = [];
    // Sites without an enrolled device have nothing to be silent about.
    for (const [siteCode, seen] of lastSeen) {
      const silentSchool = schoolMinutesBetween(ctx.school, siteCode, seen, ctx.now, p.silentMinutes);
      const ageMin = Math.floor((ctx.now - seen) / 60_000);
      out.push({
        siteCode,
        raise: silentSchool >= p.silentMinutes,
        clear: ctx.now - seen <= p.clearMinutes * 60_000,
        value: ageMin,
        summary: `last heard ${ageMin} min ago (${new Date(seen).toISOString()})`,
      });
    }
    return out;
  },
};
