import { isIP } from 'node:net';
import type { ResultCode } from '../../../protocol/results.ts';
import type { Attempt } from '../latency-stats.ts';

/**
 * Windows prints "<1ms" for an echo answered within the first millisecond: ping.exe only knows whole
 * milliseconds, so the reply took somewhere in [0, 1) ms and we record the midpoint, 0.5 ms. (Reporting 0 or
 * 1 would bias every LAN figure by half a millisecond one way or the other.) In general "<N" becomes N / 2.
 */
export const BELOW_ONE_MS = 0.5;

/**
 * "TTL=<n>": the one token of a Windows reply line that no translation touches (German, French, Russian,
 * Chinese and Vietnamese editions all keep it). It must follow whitespace so that, in a double-byte code page,
 * a lead byte followed by an ASCII 'T' cannot fake it. Spaces around '=' are tolerated.
 */
const TTL_TOKEN = /(?:^|\s)TTL ?= ?\d+/;
/** "=<n>" or "<<n>" with an optional decimal part: the bytes field, then the time field, of a reply. */
const VALUE_TOKEN = /([=<]) ?(\d+(?:[.,]\d+)?)/g;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function valueOf(op: string, digits: string): number {
  const n = Number(digits.replace(',', '.'));
  if (op !== '<') return n;
  return n === 1 ? BELOW_ONE_MS : n / 2;
}

/**
 * Reply times from Windows ping.exe output in ANY display language, read by structure, never by words:
 *
 * - IPv4: a reply line is one with a "TTL=<n>" token; its time is the LAST "=<n>" or "<<n>" before that
 *   token (the one before it is the byte count: "bytes=32 time=14ms TTL=117", "число байт=32 время<1мс TTL=64",
 *   "字节=32 时间=28ms TTL=71"). The unit after the number is translated ("ms", "мс") and is not read.
 * - IPv6: Windows prints neither bytes nor TTL ("Reply from ::1: time<1ms"), so a reply line is one that names
 *   the pinged address as a whole token and carries a "=<n>"/"<<n>" value; the statistics lines that
 *   contain "= <n>" never name the address.
 * - Everything else (time-outs, "destination host unreachable" sent back by a router, "TTL expired in
 *   transit", "General failure", the statistics block) carries no reply and is ignored. That matters: Windows
 *   counts router-sent "unreachable" messages as Received in its own summary, so the summary is never read.
 *
 * Only ASCII is consulted (digits, '=', '<', 'TTL', the address), so the text may be decoded with the wrong
 * code page (latin1, or UTF-8 with replacement characters) without changing the answer.
 */
export function parseWindowsReplies(text: string, address?: string): number[] {
  const v6 = address && isIP(address) === 6 ? new RegExp(`(?:^|[\\s[])${escapeRegExp(address)}(?=$|[\\s\\]:,])`, 'i') : undefined;
  const replies: number[] = [];
  for (const line of text.split(/\r?\n|\r/)) {
    const ttl = TTL_TOKEN.exec(line);
    let head: string;
    if (ttl) head = line.slice(0, ttl.index);
    else if (v6?.test(line)) head = line;
    else continue;
    let last: RegExpMatchArray | undefined;
    for (const m of head.matchAll(VALUE_TOKEN)) last = m;
    if (last) replies.push(valueOf(last[1] as string, last[2] as string));
  }
  return replies;
}

/** "64 bytes from …: icmp_seq=3 ttl=52 time=41.2 ms" (iputils, macOS, BusyBox), read under LC_ALL=C. */
const UNIX_REPLY = /(?:icmp_|\s)seq=(\d+)\b.*?\btime([=<])(\d+(?:\.\d+)?) ?ms/;

/** Reply times from iputils, BusyBox or macOS ping run with LC_ALL=C; duplicates of a sequence number count once. */
export function parseUnixReplies(text: string): number[] {
  const seen = new Set<string>();
  const replies: number[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = UNIX_REPLY.exec(line);
    if (!m || line.includes('DUP!') || seen.has(m[1] as string)) continue;
    seen.add(m[1] as string);
    replies.push(valueOf(m[2] as string, m[3] as string));
  }
  return replies;
}

/** Why a Unix ping got no reply at all, from its C-locale stdout and stderr. */
export function unixFailureCode(output: string): ResultCode {
  if (/Destination (Host|Net) Unreachable|Network is unreachable|No route to host/i.test(output)) return 'unreachable';
  if (/Operation not permitted|Permission denied|socket: /i.test(output)) return 'unavailable';
  return 'timeout';
}

/** Per-attempt list for latencyStats: the replies in order, then one null per echo that got none. */
export function toAttempts(replies: readonly number[], sent: number): Attempt[] {
  const answered = replies.slice(0, sent);
  return [...answered, ...Array.from({ length: Math.max(0, sent - answered.length) }, () => null)];
}
