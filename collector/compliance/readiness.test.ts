// Known answers for online-class readiness with the shipped profiles file's figures (Zoom/Meet/Teams
// per-class needs, Cloudflare AIM bands), worked out by hand in the comments.
import { describe, expect, it } from 'vitest';
import { getDefaultProfiles, parseProfiles } from '../school/profiles.ts';
import { readinessTests } from './readiness-evidence.ts';
import { readinessOf, readinessSentence } from './readiness.ts';

const config = getDefaultProfiles().readiness!;

describe('readinessOf', () => {
  it('counts classes on the tighter direction and grades a good 4G line', () => {
    // 20 × 0.75 / 2.6 = 5.77 → 5 down; 5 × 0.75 / 1.5 = 2.5 → 2 up: upload-limited, 2 classes.
    // video call: latency 40 → 5, jitter 8 → 10, loss 0 → 10, increase 60-40=20 → 5: 30 points, good (25 ≤ 30 < 40).
    // streaming: latency 5, loss 10, download 20 → 10, increase 5: 30 points, average (20 ≤ 30 < 40).
    const r = readinessOf(config, { downMbps: 20, upMbps: 5, idleRttMs: 40, loadedRttMs: 60, jitterMs: 8, lossPct: 0 });
    expect(r.videoClasses).toBe(2);
    expect(r.limitedBy).toBe('upload');
    expect(r.videoCall).toEqual({ points: 30, grade: 3, name: 'good' });
    expect(r.streaming).toEqual({ points: 30, grade: 2, name: 'average' });
    expect(readinessSentence(r)).toBe('2 simultaneous video classes (upload-limited); video calls good, streaming average');
  });

  it('a bloated buffer carries no class however fast the line, and grades the call bad', () => {
    // increase 450 → -10, latency 50 → 0 (50 ≤ x < 100), jitter 40 → 0, loss 0 → 10: 0 points, bad.
    const r = readinessOf(config, { downMbps: 50, upMbps: 20, idleRttMs: 50, loadedRttMs: 500, jitterMs: 40, lossPct: 0 });
    expect(r.videoClasses).toBe(0);
    expect(r.limitedBy).toBe('loaded_rtt');
    expect(r.videoCall?.name).toBe('bad');
  });

  it('loss beyond the limit carries no class; a missing upload leaves the class count out', () => {
    expect(readinessOf(config, { downMbps: 50, upMbps: 20, lossPct: 3 }).limitedBy).toBe('loss');
    const onlyDown = readinessOf(config, { downMbps: 8, idleRttMs: 30, loadedRttMs: 35 });
    expect(onlyDown.videoClasses).toBeUndefined();
    // No jitter: the video call is ungraded; unknown loss counts 0 points (as AIM): 5 + 0 + 5 + 20 = 30 → average.
    expect(onlyDown.videoCall).toBeUndefined();
    expect(onlyDown.streaming).toEqual({ points: 30, grade: 2, name: 'average' });
  });

  it('exactly twice the need is two classes', () => {
    const need = config.videoClass;
    const r = readinessOf(config, { downMbps: (2 * need.downMbps) / (need.usablePct / 100), upMbps: 100 });
    expect(r.videoClasses).toBe(2);
  });
});

describe('readinessTests', () => {
  it('pairs a download with the same device’s upload right after it and takes jitter and loss from the runs around it', () => {
    const T = Date.UTC(2026, 10, 16, 2);
    const tests = readinessTests(
      config,
      [
        { at: T, device: 'a', direction: 'download', mbps: 20, idleRttMs: 40, loadedRttMs: 50 },
        { at: T + 5_000, device: 'b', direction: 'upload', mbps: 1 },
        { at: T + 15_000, device: 'a', direction: 'upload', mbps: 5, loadedRttMs: 60 },
        { at: T + 3_600_000, device: 'a', direction: 'upload', mbps: 4 },
      ],
      [
        { at: T - 60_000, rttMs: 40, jitterMs: 6, lossPct: 0 },
        { at: T + 240_000, rttMs: 40, jitterMs: 10, lossPct: 0 },
        { at: T + 7_200_000, rttMs: 40, jitterMs: 99, lossPct: 50 },
      ],
    );
    expect(tests).toHaveLength(3);
    expect(tests[0]!.figures).toEqual({ downMbps: 20, upMbps: 5, idleRttMs: 40, loadedRttMs: 60, jitterMs: 8, lossPct: 0 });
    expect(tests[0]!.readiness.videoClasses).toBe(2);
    expect(tests[1]!.device).toBe('b');
    expect(tests[2]!.figures.jitterMs).toBeUndefined();
  });
});

describe('profiles file', () => {
  it('refuses a readiness criterion without the readiness section, naming where', () => {
    expect(() =>
      parseProfiles(`
defaultProfile: p
profiles:
  p:
    description: d
    criteria:
      - { id: c, metric: video_classes, statistic: median, threshold: 1, minSamples: 1, informational: true }
`),
    ).toThrow(/profiles\.p\.criteria\.0\.metric.*readiness section/);
  });
});
