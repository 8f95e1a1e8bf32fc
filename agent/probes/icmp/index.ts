import { execFile } from 'node:child_process';
import type { ResultCode } from '../../../protocol/results.ts';
import { abortCode, clip, errorCodeOf } from '../errors.ts';
import { latencyStats, type Attempt } from '../latency-stats.ts';
import { overallCode } from '../outcome.ts';
import { resolveHost } from '../resolve.ts';
import { guarded, makeResult } from '../result.ts';
import { collectorEndpoint } from '../target.ts';
import { IcmpOptions } from '../../../protocol/probe-options/icmp.ts';
import type { Probe } from '../types.ts';
import { pingCommand } from './command.ts';
import { parseUnixReplies, parseWindowsReplies, toAttempts, unixFailureCode } from './parse.ts';


interface Run {
  error: (Error & { code?: unknown; killed?: boolean }) | null;
  stdout: Buffer;
  stderr: Buffer;
}

function execPing(file: string, args: string[], deadlineMs: number, signal: AbortSignal): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        encoding: 'buffer',
        // C locale: stable English messages and '.' as decimal point for -i on Linux and macOS.
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
        timeout: deadlineMs,
        killSignal: 'SIGKILL',
        maxBuffer: 256 * 1024,
        windowsHide: true,
        signal,
      },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }),
    );
  });
}

export const icmpProbe: Probe<IcmpOptions> = {
  name: 'icmp',
  description: 'ICMP echo through the system ping (secondary method: may need privileges, output is parsed)',

  defaultTargets({ collectorUrl }) {
    const c = collectorEndpoint(collectorUrl);
    return c ? [c.host] : [];
  },

  run(target, rawOptions, ctx) {
    return guarded('icmp', target, ctx, latencyStats([]), async (measuredAt) => {
      const done = (code: ResultCode, attempts: Attempt[], detail?: string) =>
        makeResult('icmp', target, measuredAt, code, latencyStats(attempts), detail);
      const options = IcmpOptions.parse(rawOptions);
      const host = target.replace(/^\[(.*)\]$/, '$1');
      if (!/^[0-9A-Za-z.:_%-]+$/.test(host) || host.startsWith('-')) return done('error', [], 'target must be a host name or IP address');

      const resolved = await resolveHost(host, options.timeoutMs, ctx.signal);
      if (!('address' in resolved)) return done(ctx.signal.aborted ? abortCode(ctx.signal) : resolved.code, [], resolved.detail);

      const platform = process.platform;
      const cmd = pingCommand(platform, { ...options, ...resolved }, options.binary);
      const run = await execPing(cmd.file, cmd.args, cmd.deadlineMs, ctx.signal);
      const spawnError = errorCodeOf(run.error);
      if (spawnError === 'ENOENT' || spawnError === 'EACCES') {
        return done('unavailable', [], `cannot run ${cmd.file}: ${spawnError}`);
      }

      // ping.exe writes in the console's OEM code page; latin1 keeps every byte and the parser reads only ASCII.
      const stdout = run.stdout.toString(platform === 'win32' ? 'latin1' : 'utf8');
      const stderr = run.stderr.toString('utf8');
      const replies = platform === 'win32' ? parseWindowsReplies(stdout, resolved.address) : parseUnixReplies(stdout);

      if (ctx.signal.aborted) {
        // Echoes still in flight when the run was stopped are neither answered nor lost: count only the replies.
        const code = replies.length > 0 ? 'ok' : abortCode(ctx.signal);
        return done(code, toAttempts(replies, replies.length), `stopped early after ${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`);
      }
      const attempts = toAttempts(replies, options.count);
      if (replies.length > 0) {
        const killed = run.error?.killed ? `ping killed after ${cmd.deadlineMs} ms` : undefined;
        return done(overallCode(options.count, replies.length, []), attempts, killed);
      }
      if (platform === 'win32') {
        // The reason (time-out, unreachable, general failure) is only in localised words, which are not read.
        return done('timeout', attempts, `no echo reply (ping exit code ${String(run.error?.code ?? 0)})`);
      }
      const code = unixFailureCode(`${stdout}\n${stderr}`);
      const said = clip(stderr.split('\n').find((l) => l.trim()) ?? '', 200);
      return done(code, attempts, said || `no echo reply (ping exit code ${String(run.error?.code ?? 0)})`);
    });
  },
};
