import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { latencyStats } from '../latency-stats.ts';
import { BELOW_ONE_MS, parseUnixReplies, parseWindowsReplies, toAttempts, unixFailureCode } from './parse.ts';

const testdata = (name: string): Buffer => readFileSync(new URL(`./testdata/${name}`, import.meta.url));
const text = (name: string): string => testdata(name).toString('utf8');
const half = BELOW_ONE_MS;

interface Case {
  file: string;
  /** Echoes asked for (ping -n / -c): the denominator of loss, never read from the localised summary. */
  sent: number;
  replies: number[];
  /** The pinged address, needed only to recognise IPv6 reply lines. */
  address?: string;
  /** The same text in the console code page ping.exe writes to a pipe. */
  encoded?: string;
}

const WINDOWS: Case[] = [
  { file: 'windows-en.txt', sent: 5, replies: [41, 39, 117, 40] },
  { file: 'windows-en-lan.txt', sent: 4, replies: [half, 1, half, 2] },
  // ping.exe's own summary says "Received = 3": router-sent "unreachable" messages are not echo replies.
  { file: 'windows-en-unreachable.txt', sent: 4, replies: [] },
  { file: 'windows-en-ttl-expired.txt', sent: 4, replies: [44] },
  { file: 'windows-en-ipv6.txt', sent: 4, replies: [48, 47, 52], address: '2001:db8:4f4a::53' },
  { file: 'windows-de.txt', sent: 5, replies: [23, 25, 22], encoded: 'windows-de.cp850.bin' },
  { file: 'windows-fr.txt', sent: 5, replies: [half, 3, 1], encoded: 'windows-fr.cp850.bin' },
  { file: 'windows-ru.txt', sent: 5, replies: [35, 34, 36], encoded: 'windows-ru.cp866.bin' },
  { file: 'windows-zh-CN.txt', sent: 5, replies: [28, 27, 30], encoded: 'windows-zh-CN.gbk.bin' },
  { file: 'windows-zh-CN-ipv6.txt', sent: 4, replies: [half, half, 1, half], address: '::1', encoded: 'windows-zh-CN-ipv6.gbk.bin' },
  { file: 'windows-vi.txt', sent: 4, replies: [62, 58, 311] },
  { file: 'windows-vi-translated.txt', sent: 5, replies: [62, 58, half], encoded: 'windows-vi-translated.cp1258.bin' },
];

const UNIX: Case[] = [
  { file: 'linux-iputils-loopback.txt', sent: 4, replies: [0.055, 0.04, 0.046, 0.042] },
  { file: 'linux-iputils-queued.txt', sent: 8, replies: [0.246, 0.039, 0.047, 1016, 812, 608, 404, 200] },
  { file: 'linux-iputils-unreachable.txt', sent: 5, replies: [] },
  { file: 'linux-iputils-loss.txt', sent: 5, replies: [41.2, 39.8, 117, 40.1] },
  { file: 'busybox.txt', sent: 4, replies: [0.912, 0.788, 1.035] },
  { file: 'macos.txt', sent: 4, replies: [41.262, 39.874, 40.513] },
];

const lossOf = (c: Case) => latencyStats(toAttempts(c.replies, c.sent)).loss_pct;

describe('parseWindowsReplies', () => {
  it.each(WINDOWS)('$file: exact reply times', (c) => {
    const replies = parseWindowsReplies(text(c.file), c.address);
    expect(replies).toEqual(c.replies);
    expect(latencyStats(toAttempts(replies, c.sent)).loss_pct).toBe(lossOf(c));
  });

  it.each(WINDOWS.filter((c) => c.encoded))('$encoded: same answer from console code-page bytes, however decoded', (c) => {
    const bytes = testdata(c.encoded as string);
    expect(parseWindowsReplies(bytes.toString('latin1'), c.address)).toEqual(c.replies);
    const garbled = bytes.toString('utf8');
    expect(garbled).toContain('\uFFFD');
    expect(parseWindowsReplies(garbled, c.address)).toEqual(c.replies);
  });

  it.each(WINDOWS)('$file: survives every non-ASCII character being lost', (c) => {
    const asciiOnly = text(c.file).replace(/[^\x00-\x7f]/g, '?');
    expect(parseWindowsReplies(asciiOnly, c.address)).toEqual(c.replies);
  });

  it('gives the sample losses computed from the echoes asked for', () => {
    expect(WINDOWS.map((c) => [c.file, lossOf(c)])).toEqual([
      ['windows-en.txt', 20],
      ['windows-en-lan.txt', 0],
      ['windows-en-unreachable.txt', 100],
      ['windows-en-ttl-expired.txt', 75],
      ['windows-en-ipv6.txt', 25],
      ['windows-de.txt', 40],
      ['windows-fr.txt', 40],
      ['windows-ru.txt', 40],
      ['windows-zh-CN.txt', 40],
      ['windows-zh-CN-ipv6.txt', 0],
      ['windows-vi.txt', 25],
      ['windows-vi-translated.txt', 40],
    ]);
  });

  it('summarises a localised sample into the protocol fields', () => {
    const replies = parseWindowsReplies(text('windows-de.txt'));
    expect(latencyStats(toAttempts(replies, 5))).toEqual({
      sent: 5,
      received: 3,
      loss_pct: 40,
      rtt_min_ms: 22,
      rtt_median_ms: 23,
      rtt_mean_ms: 23.333,
      rtt_p95_ms: 25,
      rtt_max_ms: 25,
      jitter_ms: 2.5,
    });
  });

  it('needs the address to recognise IPv6 replies, and only as a whole token', () => {
    expect(parseWindowsReplies(text('windows-en-ipv6.txt'))).toEqual([]);
    expect(parseWindowsReplies('Reply from 2001:db8:4f4a::531: time=9ms', '2001:db8:4f4a::53')).toEqual([]);
    expect(parseWindowsReplies('Reply from 2001:db8::1: time=9ms', '::1')).toEqual([]);
  });

  it('accepts a decimal comma and ignores lines that only mention TTL', () => {
    expect(parseWindowsReplies('Reply from 10.0.0.1: bytes=32 time=2,7ms TTL=128')).toEqual([2.7]);
    expect(parseWindowsReplies('Reply from 10.0.0.1: TTL expired in transit.\r\nxTTL=5 time=3ms')).toEqual([]);
  });
});

describe('parseUnixReplies', () => {
  it.each(UNIX)('$file: exact reply times', (c) => {
    expect(parseUnixReplies(text(c.file))).toEqual(c.replies);
  });

  it('gives the sample losses', () => {
    expect(UNIX.map((c) => [c.file, lossOf(c)])).toEqual([
      ['linux-iputils-loopback.txt', 0],
      ['linux-iputils-queued.txt', 0],
      ['linux-iputils-unreachable.txt', 100],
      ['linux-iputils-loss.txt', 20],
      ['busybox.txt', 25],
      ['macos.txt', 25],
    ]);
  });

  it('tells unreachable from plain silence', () => {
    expect(unixFailureCode(text('linux-iputils-unreachable.txt'))).toBe('unreachable');
    expect(unixFailureCode('ping: connect: Network is unreachable')).toBe('unreachable');
    expect(unixFailureCode('ping: socket: Operation not permitted')).toBe('unavailable');
    expect(unixFailureCode('4 packets transmitted, 0 received, 100% packet loss')).toBe('timeout');
  });
});

describe('toAttempts', () => {
  it('pads with losses and never reports more answers than echoes sent', () => {
    expect(toAttempts([1, 2], 4)).toEqual([1, 2, null, null]);
    expect(toAttempts([1, 2, 3], 2)).toEqual([1, 2]);
  });
});
