export interface PingPlan {
  count: number;
  intervalMs: number;
  timeoutMs: number;
  /** An IP literal: the name was resolved before, so ping's own resolver (and its localised errors) never runs. */
  address: string;
  family: 4 | 6;
}

export interface PingCommand {
  file: string;
  args: string[];
  /** How long the whole run may take before it is killed: the echoes, their waits, and some slack. */
  deadlineMs: number;
}

/** Unprivileged Linux and macOS ping refuse intervals under 0.2 s. */
const MIN_INTERVAL_MS = 200;
const SLACK_MS = 2000;

/**
 * The system ping's arguments per platform, for execFile (never a shell). Windows ping.exe paces echoes at
 * about one a second whatever we ask, so intervalMs only applies elsewhere.
 */
export function pingCommand(platform: NodeJS.Platform, plan: PingPlan, binary?: string): PingCommand {
  const count = String(plan.count);
  const intervalMs = Math.max(MIN_INTERVAL_MS, plan.intervalMs);
  const interval = (intervalMs / 1000).toFixed(3).replace(/\.?0+$/, '');
  const spread = (plan.count - 1) * intervalMs;
  if (platform === 'win32') {
    return {
      file: binary ?? 'ping',
      args: ['-n', count, '-w', String(plan.timeoutMs), plan.address],
      deadlineMs: plan.count * Math.max(1000, plan.timeoutMs) + SLACK_MS,
    };
  }
  if (platform === 'darwin') {
    // macOS: -W is in milliseconds; its separate ping6 has no per-echo wait, the deadline bounds it instead.
    const v6 = plan.family === 6;
    return {
      file: binary ?? (v6 ? 'ping6' : 'ping'),
      args: v6 ? ['-n', '-c', count, '-i', interval, plan.address] : ['-n', '-c', count, '-i', interval, '-W', String(plan.timeoutMs), plan.address],
      deadlineMs: spread + plan.timeoutMs + SLACK_MS,
    };
  }
  // Linux (iputils, BusyBox): -W takes whole seconds in older releases, so round up.
  const waitS = Math.max(1, Math.ceil(plan.timeoutMs / 1000));
  return {
    file: binary ?? 'ping',
    args: ['-n', '-c', count, '-i', interval, '-W', String(waitS), plan.address],
    deadlineMs: spread + waitS * 1000 + SLACK_MS,
  };
}
