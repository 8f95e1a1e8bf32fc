import { describe, expect, it } from 'vitest';
import { getDefaultProfiles, parseProfiles, ProfilesError } from './profiles.ts';

const FILE = `
defaultProfile: base
linkTypeProfiles: { 3g: slow }
profiles:
  base:
    description: base
    studentScaling: { aboveStudents: 400, mbpsPerStudent: 0.05 }
    criteria:
      - { id: dl, metric: download_mbps, statistic: median, threshold: 20, scaleWithStudents: true, minSamples: 10 }
      - { id: share, metric: download_mbps, statistic: share_at_least, floor: 5, threshold: 95, minSamples: { day: 1, week: 2, month: 3, rolling30: 4 } }
      - { id: up, metric: uptime_pct, statistic: ratio, threshold: 99, minSamples: 100 }
  slow:
    description: slow
    criteria:
      - { id: dl, metric: download_mbps, statistic: median, threshold: 2, minSamples: 10 }
sites:
  S-OVR: { students: 1000, criteria: { up: { threshold: 97 }, share: { disabled: true } } }
  S-PROF: { profile: slow }
`;

describe('target profiles', () => {
  const profiles = parseProfiles(FILE);

  it('chooses the profile: file override, registry, link type, default', () => {
    expect(profiles.resolve({ code: 'S-PROF', profile: 'base' }).name).toBe('slow');
    expect(profiles.resolve({ code: 'a', profile: 'slow' }).name).toBe('slow');
    expect(profiles.resolve({ code: 'a', linkType: '3g' }).name).toBe('slow');
    expect(profiles.resolve({ code: 'a', linkType: '4g' }).name).toBe('base');
    const unknown = profiles.resolve({ code: 'a', profile: 'nope' });
    expect(unknown.name).toBe('base');
    expect(unknown.warnings[0]).toMatch(/'nope' is not in the profiles file/);
  });

  it('scales the download threshold by 50 kbit/s per student above 400, never below the base', () => {
    const dl = (students?: number) => profiles.resolve({ code: 'a', ...(students !== undefined ? { students } : {}) }).criteria[0]!;
    expect(dl().threshold).toBe(20);
    expect(dl(400).threshold).toBe(20);
    expect(dl(401)).toMatchObject({ threshold: 20.05, scaledForStudents: true });
    expect(dl(900)).toMatchObject({ threshold: 45, baseThreshold: 20 });
    expect(dl(100).threshold).toBe(20);
    // only criteria that ask for it
    expect(profiles.resolve({ code: 'a', students: 900 }).criteria[1]!.threshold).toBe(95);
  });

  it('applies per-site overrides: students, thresholds, disabled criteria', () => {
    const p = profiles.resolve({ code: 'S-OVR', students: 10 });
    expect(p.students).toBe(1000);
    expect(p.criteria.map((c) => c.id)).toEqual(['dl', 'up']);
    expect(p.criteria[0]!.threshold).toBe(50);
    expect(p.criteria[1]).toMatchObject({ threshold: 97, baseThreshold: 99, higherIsBetter: true });
  });

  it('spreads minSamples over the period kinds', () => {
    const p = profiles.resolve({ code: 'a' });
    expect(p.criteria[0]!.minSamples).toEqual({ day: 10, week: 10, month: 10, rolling30: 10 });
    expect(p.criteria[1]!.minSamples.month).toBe(3);
  });

  it('refuses inconsistent files with the path of each problem', () => {
    const bad = `
defaultProfile: missing
profiles:
  p:
    description: x
    criteria:
      - { id: a, metric: download_mbps, statistic: share_at_least, threshold: 95, minSamples: 1 }
      - { id: a, metric: rtt_ms, statistic: ratio, threshold: 1, minSamples: 1, scaleWithStudents: true }
`;
    let msg = '';
    try {
      parseProfiles(bad, 'p.yaml');
    } catch (err) {
      expect(err).toBeInstanceOf(ProfilesError);
      msg = (err as Error).message;
    }
    expect(msg).toContain('p.yaml');
    expect(msg).toContain("defaultProfile: no profile named 'missing'");
    expect(msg).toContain('profiles.p.criteria.0.floor: share_at_least needs a floor');
    expect(msg).toContain("duplicate criterion id 'a'");
    expect(msg).toContain('statistic: uptime_pct is judged with the statistic ratio');
    expect(msg).toContain('scaleWithStudents: the profile has no studentScaling');
  });

  it('ships the brief’s default 4G profile and 3G/5G/fibre profiles', () => {
    const def = getDefaultProfiles();
    expect(def.names()).toEqual(expect.arrayContaining(['4g-school', '3g-school', '5g-school', 'fibre-school']));
    const p = def.resolve({ code: 'x', linkType: '4g' });
    const byId = Object.fromEntries(p.criteria.map((c) => [c.id, c]));
    expect(byId.download_median).toMatchObject({ statistic: 'median', threshold: 20 });
    expect(byId.download_min_share).toMatchObject({ statistic: 'share_at_least', floor: 5, threshold: 95 });
    expect(byId.upload_median!.threshold).toBe(5);
    expect(byId.rtt_median!.threshold).toBe(100);
    expect(byId.rtt_p95!.threshold).toBe(150);
    expect(byId.jitter_median!.threshold).toBe(30);
    expect(byId.loss_mean!.threshold).toBe(1);
    expect(byId.uptime).toMatchObject({ statistic: 'ratio', threshold: 99 });
    expect(def.resolve({ code: 'x', linkType: '5g' }).name).toBe('5g-school');
  });
});
