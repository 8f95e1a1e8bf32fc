#!/usr/bin/env node
// songcheck-verify PACK [--json]
//
// Checks a songcheck evidence pack without trusting the collector that wrote it, and without installing
// anything: plain Node.js 20 (node:crypto, node:fs, Intl). Everything it does is specified in
// docs/evidence.md so that it can be rewritten in another language:
//
//   1. keys      — every device key's id is sha256 of the key; every key is the one the audit log registered;
//   2. chain     — every log line names the sha256 of the line before it; each day continues from the
//                  previous day's head; every recorded daily head matches the log;
//   3. signatures — every signed result verifies with its device's registered Ed25519 key, was received
//                  before the device was revoked, and names that device; unsigned results are counted;
//   4. verdict   — every criterion is recomputed from the results, the included calendar and profile, and
//                  compared with the collector's verdict.
//
// Exit status: 0 everything checks and the verdict is the same; 1 a problem or a difference (each printed
// with its place); 2 the pack cannot be read. This file deliberately has no dependencies: do not import
// anything from the songcheck sources here.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const FORMAT = 'songcheck-evidence-pack';
const SIGNING_DOMAIN = 'songcheck-result-v1\n';
const OUTAGE_LOOKBACK_MS = 31 * 86_400_000;
const TOLERANCE = 2e-6;

// ---------------------------------------------------------------------------------------------- reading

export function readPack(text) {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const pack = { header: undefined, readme: [], site: undefined, devices: [], audit: [], calendar: undefined, profile: undefined, method: undefined, verdict: undefined, heads: [], days: [], end: undefined };
  let i = 0;
  const parse = (n) => {
    try {
      return JSON.parse(lines[n]);
    } catch (err) {
      throw new Error(`pack line ${n + 1} is not JSON (${err.message})`);
    }
  };
  while (i < lines.length) {
    const rec = parse(i);
    const lineNo = i + 1;
    i++;
    switch (rec.type) {
      case FORMAT: pack.header = rec; break;
      case 'readme': pack.readme.push(rec); break;
      case 'site': pack.site = rec.site; break;
      case 'device': pack.devices.push({ ...rec.device, key: rec.key ?? null }); break;
      case 'audit': pack.audit.push(rec.entry); break;
      case 'calendar': pack.calendar = rec; break;
      case 'profile': pack.profile = rec.profile; pack.readiness = rec.readiness; break;
      case 'method': pack.method = rec; break;
      case 'verdict': pack.verdict = rec; break;
      case 'head': pack.heads.push(rec); break;
      case 'day': {
        const n = rec.lines;
        if (!Number.isInteger(n) || n < 0 || i + n > lines.length) throw new Error(`pack line ${lineNo}: day ${rec.date} announces ${n} log lines, the pack has ${lines.length - i} left`);
        pack.days.push({ date: rec.date, packLine: lineNo, lines: lines.slice(i, i + n) });
        i += n;
        break;
      }
      case 'end': pack.end = rec; break;
      default: throw new Error(`pack line ${lineNo}: unknown record type ${JSON.stringify(rec.type)}`);
    }
  }
  if (!pack.header || pack.header.version !== 1) throw new Error(`not a ${FORMAT} version 1 (first line ${JSON.stringify(lines[0]?.slice(0, 80))})`);
  for (const [name, v] of [['site', pack.site], ['calendar', pack.calendar], ['profile', pack.profile], ['verdict', pack.verdict]]) {
    if (!v) throw new Error(`the pack has no ${name} record`);
  }
  if (!pack.end) throw new Error('the pack has no end record: it was cut short');
  return pack;
}

// ---------------------------------------------------------------------------------------------- crypto

const sha256Hex = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
const keyIdOf = (publicKey) => `ed25519:${createHash('sha256').update(Buffer.from(publicKey, 'base64url')).digest('hex').slice(0, 32)}`;
const genesisHash = (site) => sha256Hex(`songcheck-evidence-genesis\n${site}`);

function verifySignature(payload, sig, publicKey) {
  const signature = Buffer.from(sig ?? '', 'base64url');
  if (signature.length !== 64) return false;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
  return verify(null, Buffer.from(SIGNING_DOMAIN + payload, 'utf8'), key, signature);
}

// ---------------------------------------------------------------------------------------------- checks

/** Checks keys, chain and signatures. Returns { problems, notes, results } (results in log order). */
export function checkIntegrity(pack) {
  const problems = [];
  const notes = [];
  const site = pack.site.code;

  // 1. keys against the audit log
  const devices = new Map();
  for (const d of pack.devices) {
    devices.set(d.id, d);
    if (d.siteCode !== site) problems.push(`device ${d.id}: belongs to site ${d.siteCode}, not ${site}`);
    const registered = pack.audit.filter((a) => a.action === 'device.key' && a.subject === d.id);
    if (!d.key) {
      if (registered.length > 0) problems.push(`device ${d.id}: the audit log (entry #${registered[0].id}) registered key ${registered[0].detail?.keyId}, but the pack gives the device no key`);
      continue;
    }
    if (keyIdOf(d.key.publicKey) !== d.key.keyId) problems.push(`device ${d.id}: key id ${d.key.keyId} is not the sha256 of its public key (${keyIdOf(d.key.publicKey)})`);
    if (registered.length === 0) problems.push(`device ${d.id}: key ${d.key.keyId} has no registration entry in the audit log`);
    for (const a of registered) {
      if (a.detail?.publicKey !== d.key.publicKey) {
        problems.push(`device ${d.id}: key ${keyIdOf(d.key.publicKey)} in the pack is not the key registered in audit entry #${a.id} (${a.detail?.keyId}, ${new Date(a.at).toISOString()}): the device key was swapped`);
      }
    }
    const revoke = pack.audit.find((a) => a.action === 'device.revoke' && a.subject === d.id);
    if (revoke && d.revokedAt !== revoke.at) problems.push(`device ${d.id}: revoked at ${d.revokedAt ?? 'never'} in the pack but at ${revoke.at} in audit entry #${revoke.id}`);
    if (!revoke && d.revokedAt !== undefined && d.revokedAt !== null) problems.push(`device ${d.id}: revoked in the pack but no audit entry records it`);
  }

  // 2. chain, 3. signatures
  const headsByDate = new Map(pack.heads.map((h) => [h.date, h]));
  const days = [...pack.days].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const firstDate = days[0]?.date ?? pack.header.firstDate;
  const before = pack.heads.filter((h) => h.date < firstDate).sort((a, b) => (a.date < b.date ? 1 : -1))[0];
  let expected = before ? before.head : undefined; // undefined: the first day of the pack starts the site's chain
  let expectedFrom = before ? `the recorded head of ${before.date}` : undefined;
  const results = [];
  const counts = { entries: 0, signed: 0, unsigned: 0, invalid: 0 };
  for (const day of days) {
    let lineNo = 0;
    let head;
    for (const line of day.lines) {
      lineNo++;
      const place = `day ${day.date} line ${lineNo} (pack line ${day.packLine + lineNo})`;
      counts.entries++;
      let e;
      try {
        e = JSON.parse(line);
      } catch (err) {
        problems.push(`${place}: not JSON (${err.message}): the line was altered`);
        expected = sha256Hex(line);
        expectedFrom = `${place}`;
        continue;
      }
      if (lineNo === 1 && expected === undefined) {
        if (e.prev !== genesisHash(site)) notes.push(`the chain enters the pack at ${place} from ${e.prev} (no recorded head before ${day.date} is included)`);
      } else if (e.prev !== expected) {
        if (lineNo === 1) problems.push(`${place}: the chain continues from ${e.prev}, but ${expectedFrom} is ${expected}: a day before ${day.date} is missing or was altered`);
        else problems.push(`${place}: prev is ${e.prev}, but the hash of line ${lineNo - 1} is ${expected}: line ${lineNo - 1} of ${day.date} was altered, or a line was removed or inserted`);
      }
      if (e.seq !== lineNo) problems.push(`${place}: sequence number ${e.seq}, expected ${lineNo}: a line was removed or inserted`);
      head = sha256Hex(line);
      expected = head;
      expectedFrom = `the head of ${day.date}`;

      const device = devices.get(e.device);
      if (!device) problems.push(`${place}: device ${e.device} is not among the pack's devices`);
      if (device?.revokedAt && e.at > device.revokedAt) problems.push(`${place}: received at ${new Date(e.at).toISOString()}, after device ${e.device} was revoked`);
      let result;
      if (typeof e.signed === 'string') {
        counts.signed++;
        let payload;
        try {
          payload = JSON.parse(e.signed);
        } catch {
          payload = undefined;
        }
        result = payload?.result;
        if (!device?.key) {
          problems.push(`${place}: signed with ${e.key}, but device ${e.device} has no registered key in the pack`);
          counts.invalid++;
        } else if (e.key !== device.key.keyId) {
          problems.push(`${place}: signed with key ${e.key}, but device ${e.device}'s registered key is ${device.key.keyId}`);
          counts.invalid++;
        } else if (!verifySignature(e.signed, e.sig, device.key.publicKey)) {
          problems.push(`${place}: the signature does not verify with device ${e.device}'s key ${device.key.keyId}: the signed result was altered${result?.id ? ` (result ${result.id})` : ''}`);
          counts.invalid++;
        } else if (payload?.device !== e.device) {
          problems.push(`${place}: the signed result names device ${payload?.device}, but the collector received it from ${e.device}`);
          counts.invalid++;
        }
      } else if (typeof e.unsigned === 'string') {
        counts.unsigned++;
        try {
          result = JSON.parse(e.unsigned);
        } catch {
          problems.push(`${place}: the unsigned result is not JSON: the line was altered`);
        }
        if (device?.key && device.key.registeredAt <= e.at) problems.push(`${place}: unsigned, although device ${e.device} had registered a signing key at ${new Date(device.key.registeredAt).toISOString()}`);
      } else {
        problems.push(`${place}: neither a signed nor an unsigned result`);
      }
      if (result && typeof result === 'object') results.push({ device: e.device, result, place, ...(e.collector ? { collector: e.collector } : {}) });
    }
    const recorded = headsByDate.get(day.date);
    if (recorded) {
      if (recorded.head !== head) problems.push(`day ${day.date}: the log ends with ${head} (${lineNo} lines), but the recorded head is ${recorded.head} (${recorded.entries} lines, recorded ${new Date(recorded.recordedAt).toISOString()}): the day was altered`);
    }
  }
  const included = new Set(days.map((d) => d.date));
  for (const h of pack.heads) {
    if (h.date >= firstDate && !included.has(h.date)) problems.push(`day ${h.date}: a chain head was recorded (${h.entries} lines, ${h.head}) but the day's log is missing from the pack`);
  }
  if (counts.unsigned > 0) notes.push(`${counts.unsigned} results are unsigned (agents older than the signing version); their integrity rests on the collector's chain only`);
  return { problems, notes, results, counts, days: days.length };
}

// ---------------------------------------------------------------------------------------------- time zone

const formatters = new Map();
function formatter(timeZone) {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}
function offsetMs(at, timeZone) {
  const p = {};
  for (const part of formatter(timeZone).formatToParts(new Date(at))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at / 1000) * 1000;
}
const pad = (n, w = 2) => String(n).padStart(w, '0');
const formatDate = (y, m, d) => `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
function localParts(at, timeZone) {
  const s = new Date(at + offsetMs(at, timeZone));
  return { date: formatDate(s.getUTCFullYear(), s.getUTCMonth() + 1, s.getUTCDate()), minuteOfDay: s.getUTCHours() * 60 + s.getUTCMinutes() };
}
function ymd(date) {
  const [y, m, d] = date.split('-').map(Number);
  return { y, m, d };
}
function localTime(date, minuteOfDay, timeZone) {
  const { y, m, d } = ymd(date);
  const wall = Date.UTC(y, m - 1, d) + minuteOfDay * 60_000;
  let guess = wall - offsetMs(wall, timeZone);
  guess = wall - offsetMs(guess, timeZone);
  return guess;
}
function addDays(date, days) {
  const { y, m, d } = ymd(date);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return formatDate(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}
const weekdayOf = (date) => {
  const { y, m, d } = ymd(date);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
};

// ---------------------------------------------------------------------------------------------- calendar

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function schoolDay(cal, date, site) {
  const overrides = cal.overrides.filter((o) => o.sites.includes(site.code) || o.groups.some((g) => (site.groups ?? []).includes(g)));
  const closures = [...cal.closures, ...overrides.flatMap((o) => o.closures)];
  if (closures.some((c) => date >= c.from && date <= (c.to ?? c.from))) return [];
  if (!cal.schoolYears.some((y) => date >= y.start && date <= y.end)) return [];
  const wd = WEEKDAYS[weekdayOf(date)];
  let hours = cal.hours[wd] ?? [];
  for (const o of overrides) hours = o.hours?.[wd] ?? hours;
  const makeUp = cal.schoolDays.includes(date) || overrides.some((o) => o.schoolDays.includes(date));
  if (hours.length === 0 && makeUp) hours = cal.makeUpHours;
  return [...hours].sort((a, b) => a.start - b.start);
}

export function schoolIntervals(cal, from, to, site) {
  if (!(to > from)) return [];
  const out = [];
  const last = localParts(to - 1, cal.timeZone).date;
  for (let date = localParts(from, cal.timeZone).date, i = 0; date <= last && i < 3700; date = addDays(date, 1), i++) {
    for (const h of schoolDay(cal, date, site)) {
      const start = Math.max(from, localTime(date, h.start, cal.timeZone));
      const end = Math.min(to, localTime(date, h.end, cal.timeZone));
      if (end <= start) continue;
      const prev = out[out.length - 1];
      if (prev && start <= prev.end) prev.end = Math.max(prev.end, end);
      else out.push({ start, end });
    }
  }
  return out;
}

function isoWeekMonday(year, week) {
  const jan4 = formatDate(year, 1, 4);
  return addDays(addDays(jan4, -((weekdayOf(jan4) + 6) % 7)), (week - 1) * 7);
}

/** The period's first and last local dates, from its label (and, for rolling30, the day it was computed). */
export function periodDates(label, timeZone, generatedAt) {
  let m;
  if (label === 'rolling30') {
    const today = localParts(generatedAt, timeZone).date;
    return { kind: 'rolling30', firstDate: addDays(today, -30), lastDate: addDays(today, -1) };
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(label)) return { kind: 'day', firstDate: label, lastDate: label };
  if ((m = /^(\d{4})-W(\d{2})$/.exec(label))) {
    const monday = isoWeekMonday(Number(m[1]), Number(m[2]));
    return { kind: 'week', firstDate: monday, lastDate: addDays(monday, 6) };
  }
  if ((m = /^(\d{4})-(\d{2})$/.exec(label))) {
    const [y, mo] = [Number(m[1]), Number(m[2])];
    return { kind: 'month', firstDate: formatDate(y, mo, 1), lastDate: addDays(formatDate(mo === 12 ? y + 1 : y, mo === 12 ? 1 : mo + 1, 1), -1) };
  }
  throw new Error(`period ${label} not understood`);
}

// ---------------------------------------------------------------------------------------------- evidence

/** A tag value as the collector stores it (collector/influx/points.ts normalizeTagValue). */
function tagValue(value) {
  if (value === undefined) return undefined;
  const clean = String(value)
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .trim()
    .slice(0, 200)
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/\\+$/, '')
    .trim();
  return clean === '' ? undefined : clean;
}

const MEASUREMENT = { tcp: ['latency', 'tcp_connect'], icmp: ['latency', 'icmp_echo'], http: ['http', 'http_get'], dns: ['dns', 'dns_query'], agent_health: ['agent_health', 'self'], device_facts: ['device_facts', 'systeminformation'], gateway: ['lan', 'tcp_connect'], throughput: ['throughput'], uptime: ['uptime', 'connectivity_check'], outage: ['outage', 'connectivity_check'], agent_event: ['agent_event', 'self'] };

/**
 * The stored points, as InfluxDB keeps them: one per series (measurement and tags) and timestamp; a later
 * write of the same point replaces the fields it carries (a resent result lands on itself).
 */
export function storedPoints(results) {
  const points = new Map();
  for (const { device, result: r, collector } of results) {
    const m = MEASUREMENT[r.probe];
    if (!m) continue;
    const method = r.probe === 'throughput' ? r.method : m[1];
    const extra = r.probe === 'throughput' ? r.direction : r.probe === 'outage' ? r.kind : r.probe === 'agent_event' ? r.event : '';
    const target = tagValue(r.target) ?? '';
    const code = tagValue(r.code) ?? '';
    const key = JSON.stringify([m[0], device, target, code, method, extra, r.measuredAt]);
    // Fields the collector added to the stored point (the test server's state) are in the log line's `collector`.
    const fields = { ...r.fields, ...collector };
    const p = points.get(key);
    if (p) Object.assign(p.fields, fields);
    else points.set(key, { measurement: m[0], device, target, code, method, extra, time: r.measuredAt, fields });
  }
  return [...points.values()];
}

const finite = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function summarise(values, floors = []) {
  const n = values.length;
  if (n === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const p95 = sorted[Math.max(0, Math.min(n - 1, Math.floor((n * 95) / 100 + 0.5) - 1))];
  let sum = 0;
  for (const x of sorted) sum += x;
  const atLeast = {};
  for (const f of floors) atLeast[String(f)] = sorted.filter((x) => x >= f).length;
  return { count: n, median, mean: sum / n, p95, atLeast };
}

const EXCLUSION_FLAGS = ['cross_traffic', 'lan_bottleneck', 'server_limited'];

function evidenceOf(points, intervals, from, to, profile, readiness) {
  const inSchool = (t) => intervals.some((i) => t >= i.start && t < i.end);
  const v = { download: [], upload: [], rtt: [], jitter: [], loss: [] };
  const devices = new Map();
  const outages = [];
  const tests = [];
  const runs = [];
  const excluded = { counts: { cross_traffic: 0, lan_bottleneck: 0, server_limited: 0 }, tests: 0, latencyRunsLan: 0, lanReasonAt: -Infinity };
  for (const p of [...points].sort((a, b) => a.time - b.time)) {
    if (p.measurement === 'outage') {
      if ((p.extra === 'link_down' || p.extra === 'dns_down') && p.time >= from - OUTAGE_LOOKBACK_MS && p.time < to) {
        const end = finite(p.fields.end_at);
        if (end !== undefined && end > p.time) outages.push({ start: p.time, end });
      }
      continue;
    }
    if (!inSchool(p.time)) continue;
    if (p.measurement === 'throughput' && p.code === 'ok' && p.target !== 'mlab' && (p.extra === 'download' || p.extra === 'upload')) {
      const x = finite(p.fields.mbps);
      if (x === undefined) continue;
      // Tests flagged as the school's line in use, the school's LAN or the test server are left out.
      const raised = EXCLUSION_FLAGS.filter((f) => p.fields[f] === true);
      if (raised.length > 0) {
        for (const f of raised) excluded.counts[f]++;
        excluded.tests++;
        const reason = typeof p.fields.lan_reason === 'string' ? p.fields.lan_reason : undefined;
        if (raised.includes('lan_bottleneck') && reason && p.time > excluded.lanReasonAt) {
          excluded.lanReason = reason;
          excluded.lanReasonAt = p.time;
        }
        continue;
      }
      v[p.extra].push(x);
      tests.push({ at: p.time, device: p.device, direction: p.extra, mbps: x, idleRttMs: finite(p.fields.idle_rtt_ms), loadedRttMs: finite(p.fields.loaded_rtt_median_ms) });
    } else if (p.measurement === 'latency' && p.method === 'tcp_connect') {
      // Runs where the school's router alone took most of the round trip are the school's network, not the operator.
      if (p.fields.lan_bottleneck === true) {
        excluded.latencyRunsLan++;
        continue;
      }
      const [rtt, jitter, loss] = [finite(p.fields.rtt_median_ms), finite(p.fields.jitter_ms), finite(p.fields.loss_pct)];
      if (rtt !== undefined) v.rtt.push(rtt);
      if (jitter !== undefined) v.jitter.push(jitter);
      if (loss !== undefined) v.loss.push(loss);
      if (rtt !== undefined || jitter !== undefined || loss !== undefined) runs.push({ at: p.time, ...(rtt !== undefined ? { rttMs: rtt } : {}), ...(jitter !== undefined ? { jitterMs: jitter } : {}), ...(loss !== undefined ? { lossPct: loss } : {}) });
    } else if (p.measurement === 'uptime') {
      const d = devices.get(p.device) ?? [0, 0, 0, 0];
      d[0] += finite(p.fields.checks) ?? 0;
      d[1] += finite(p.fields.checks_up) ?? 0;
      d[2] += finite(p.fields.checks_collector_down) ?? 0;
      d[3] += finite(p.fields.observed_s) ?? 0;
      devices.set(p.device, d);
    }
  }
  const floors = (metric) => profile.criteria.filter((c) => c.metric === metric && c.floor !== undefined).map((c) => c.floor);
  const e = { outages };
  for (const [key, metric] of [['download', 'download_mbps'], ['upload', 'upload_mbps'], ['rtt'], ['jitter'], ['loss']]) {
    const a = summarise(v[key], metric ? floors(metric) : []);
    if (a) e[key] = a;
  }
  if (readiness && tests.length > 0) {
    const graded = readinessTests(readiness, tests, runs);
    const pick = (f) => graded.map(f).filter((x) => x !== undefined);
    for (const [key, metric, f] of [['videoClasses', 'video_classes', (t) => t.readiness.videoClasses], ['videoCallGrade', 'video_call_grade', (t) => t.readiness.videoCall?.grade], ['streamingGrade', 'streaming_grade', (t) => t.readiness.streaming?.grade]]) {
      const a = summarise(pick(f), floors(metric));
      if (a) e[key] = a;
    }
  }
  if (excluded.tests > 0 || excluded.latencyRunsLan > 0) {
    delete excluded.lanReasonAt;
    e.excluded = excluded;
  }
  if (devices.size > 0) {
    const u = { checks: 0, up: 0, collectorDown: 0, observedS: 0 };
    for (const [checks, up, cd, obs] of devices.values()) {
      u.checks += checks;
      u.up += up;
      u.collectorDown += cd;
      u.observedS = Math.max(u.observedS, obs);
    }
    e.uptime = u;
  }
  return e;
}

// ---------------------------------------------------------------------------------------------- readiness
// Online-class readiness per test (collector/compliance/readiness.ts, readiness-evidence.ts): a download
// and the upload the same device ran within 3 minutes after it, with the TCP-connect runs within 30 minutes.

const PAIR_WINDOW_MS = 180_000;
const LATENCY_WINDOW_MS = 30 * 60_000;

function median(xs) {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function band(b, value) {
  let i = 0;
  while (i < b.thresholds.length && value >= b.thresholds[i]) i++;
  return b.points[i];
}

function inputValue(input, t) {
  switch (input) {
    case 'latency_ms': return t.idleRttMs;
    case 'loaded_latency_increase_ms': return t.idleRttMs !== undefined && t.loadedRttMs !== undefined ? Math.max(0, t.loadedRttMs - t.idleRttMs) : undefined;
    case 'jitter_ms': return t.jitterMs;
    case 'loss_pct': return t.lossPct;
    case 'download_mbps': return t.downMbps;
    case 'upload_mbps': return t.upMbps;
  }
  return undefined;
}

function experienceGrade(config, experience, t) {
  const def = config.scoring.experiences[experience];
  let points = 0;
  for (const input of def.inputs) {
    const value = inputValue(input, t);
    if (value === undefined) {
      if (input === 'loss_pct') continue;
      return undefined;
    }
    points += band(config.scoring.bands[input], value);
  }
  return { grade: band({ thresholds: def.gradeThresholds, points: [0, 1, 2, 3, 4] }, Math.max(0, points)) };
}

function videoClasses(config, t) {
  if (t.downMbps === undefined || t.upMbps === undefined) return undefined;
  const c = config.videoClass;
  if (t.loadedRttMs !== undefined && t.loadedRttMs > c.maxLoadedRttMs) return 0;
  if (t.lossPct !== undefined && t.lossPct > c.maxLossPct) return 0;
  const usable = c.usablePct / 100;
  return Math.min(Math.floor((t.downMbps * usable) / c.downMbps + 1e-9), Math.floor((t.upMbps * usable) / c.upMbps + 1e-9));
}

function readinessTests(config, rows, runs) {
  const sorted = [...rows].sort((a, b) => a.at - b.at);
  const used = new Set();
  const out = [];
  for (const row of sorted) {
    if (used.has(row)) continue;
    used.add(row);
    let down;
    let up;
    if (row.direction === 'download') {
      down = row;
      up = sorted.find((r) => !used.has(r) && r.device === row.device && r.direction === 'upload' && r.at > row.at && r.at - row.at <= PAIR_WINDOW_MS);
      if (up) used.add(up);
    } else up = row;
    const near = runs.filter((r) => Math.abs(r.at - row.at) <= LATENCY_WINDOW_MS);
    const loaded = [down?.loadedRttMs, up?.loadedRttMs].filter((x) => x !== undefined);
    const idle = down?.idleRttMs ?? up?.idleRttMs ?? median(near.flatMap((r) => (r.rttMs !== undefined ? [r.rttMs] : [])));
    const jitter = median(near.flatMap((r) => (r.jitterMs !== undefined ? [r.jitterMs] : [])));
    const loss = median(near.flatMap((r) => (r.lossPct !== undefined ? [r.lossPct] : [])));
    const figures = {
      ...(down ? { downMbps: down.mbps } : {}),
      ...(up ? { upMbps: up.mbps } : {}),
      ...(idle !== undefined ? { idleRttMs: idle } : {}),
      ...(loaded.length ? { loadedRttMs: Math.max(...loaded) } : {}),
      ...(jitter !== undefined ? { jitterMs: jitter } : {}),
      ...(loss !== undefined ? { lossPct: loss } : {}),
    };
    const classes = videoClasses(config, figures);
    const videoCall = experienceGrade(config, 'video_call', figures);
    const streaming = experienceGrade(config, 'streaming', figures);
    out.push({ at: row.at, readiness: { ...(classes !== undefined ? { videoClasses: classes } : {}), ...(videoCall ? { videoCall } : {}), ...(streaming ? { streaming } : {}) } });
  }
  return out;
}

function exclusionNotes(e) {
  const x = e.excluded;
  if (!x) return [];
  const notes = [];
  const n = (k) => `${k} throughput test${k === 1 ? '' : 's'}`;
  if (x.counts.lan_bottleneck > 0) notes.push(`${n(x.counts.lan_bottleneck)} left out because the school's own network was the likely bottleneck${x.lanReason ? ` (${x.lanReason})` : ''}: the school's network, not the operator.`);
  if (x.counts.cross_traffic > 0) notes.push(`${n(x.counts.cross_traffic)} left out because the line was in use by the school during the test (cross traffic).`);
  if (x.latencyRunsLan > 0) notes.push(`${x.latencyRunsLan} latency run${x.latencyRunsLan === 1 ? '' : 's'} left out because the school's router alone took most of the round trip: the school's network, not the operator.`);
  if (x.counts.server_limited > 0) notes.push(`${n(x.counts.server_limited)} left out because the test server could not serve them at full rate.`);
  return notes;
}

function outageMsInSchool(outages, intervals) {
  const merged = [];
  for (const o of [...outages].sort((a, b) => a.start - b.start)) {
    const last = merged[merged.length - 1];
    if (last && o.start <= last.end) last.end = Math.max(last.end, o.end);
    else merged.push({ ...o });
  }
  let total = 0;
  for (const o of merged) for (const i of intervals) total += Math.max(0, Math.min(o.end, i.end) - Math.max(o.start, i.start));
  return total;
}

// ---------------------------------------------------------------------------------------------- judging

const round6 = (x) => Math.round(x * 1e6) / 1e6;
const fmt = (x) => String(Math.round(x * 100) / 100);
const UNIT = { download_mbps: 'Mbit/s', upload_mbps: 'Mbit/s', rtt_ms: 'ms', jitter_ms: 'ms', loss_pct: '%', uptime_pct: '%', video_classes: 'classes', video_call_grade: '(0 bad … 4 great)', streaming_grade: '(0 bad … 4 great)' };
const SAMPLE_WORD = { download_mbps: 'download tests', upload_mbps: 'upload tests', rtt_ms: 'latency runs', jitter_ms: 'latency runs with jitter', loss_pct: 'latency runs', uptime_pct: 'connectivity checks', video_classes: 'tests with both directions', video_call_grade: 'graded tests', streaming_grade: 'graded tests' };
const AGGREGATE = { download_mbps: 'download', upload_mbps: 'upload', rtt_ms: 'rtt', jitter_ms: 'jitter', loss_pct: 'loss', video_classes: 'videoClasses', video_call_grade: 'videoCallGrade', streaming_grade: 'streamingGrade' };

function measure(c, e) {
  if (c.metric === 'uptime_pct') {
    const u = e.uptime;
    if (!u || u.checks === 0) return { samples: 0 };
    return { samples: u.checks, value: round6(((u.up + u.collectorDown) * 100) / u.checks) };
  }
  const a = e[AGGREGATE[c.metric]];
  if (!a || a.count === 0) return { samples: 0 };
  const mean = round6(a.mean);
  const value = { median: a.median, mean: a.mean, p95: a.p95, share_at_least: ((a.atLeast[String(c.floor)] ?? 0) * 100) / a.count }[c.statistic];
  return { samples: a.count, ...(value !== undefined ? { value: round6(value) } : {}), mean };
}

function reasonFor(c, v, schoolHours) {
  if (v.verdict === 'PASS') return '';
  if (v.verdict === 'INSUFFICIENT') {
    if (schoolHours === 0) return `${c.label}: the period has no school hours (weekend, holiday, break or outside the school year).`;
    return `${c.label}: only ${v.samples} ${SAMPLE_WORD[c.metric]} in school hours, at least ${v.minSamples} are needed for a verdict.`;
  }
  const value = v.value ?? 0;
  const unit = UNIT[c.metric];
  if (c.statistic === 'share_at_least') return `${c.label}: ${fmt(value)} % of ${v.samples} ${SAMPLE_WORD[c.metric]} reached ${fmt(c.floor ?? 0)} ${unit}, below the required ${fmt(c.threshold)} %.`;
  const side = c.higherIsBetter ? 'below the required' : 'above the limit of';
  return `${c.label} was ${fmt(value)} ${unit} over ${v.samples} ${SAMPLE_WORD[c.metric]}, ${side} ${fmt(c.threshold)} ${unit}${c.scaledForStudents ? ' (raised for the student count)' : ''}.`;
}

/** Recomputes the verdict of the pack's site and period from its results (docs/compliance.md "Method"). */
export function recompute(pack, results) {
  const cal = pack.calendar.file;
  const period = pack.verdict.period;
  const dates = periodDates(period.label, cal.timeZone, pack.verdict.generatedAt);
  const start = localTime(dates.firstDate, 0, cal.timeZone);
  const end = localTime(addDays(dates.lastDate, 1), 0, cal.timeZone);
  const judgedUntil = Math.min(end, period.judgedUntil ?? end);
  const intervals = schoolIntervals(cal, start, judgedUntil, pack.site);
  const schoolMs = intervals.reduce((s, i) => s + i.end - i.start, 0);
  const e = evidenceOf(storedPoints(results), intervals, start, judgedUntil, pack.profile, pack.readiness);
  const schoolHours = schoolMs / 3_600_000;
  const criteria = pack.profile.criteria.map((c) => {
    const m = measure(c, e);
    const minSamples = c.minSamples[dates.kind];
    let verdict;
    if (m.samples < Math.max(1, minSamples) || m.value === undefined) verdict = 'INSUFFICIENT';
    else verdict = (c.higherIsBetter ? m.value >= c.threshold : m.value <= c.threshold) ? 'PASS' : 'FAIL';
    const v = { id: c.id, threshold: c.threshold, samples: m.samples, minSamples, ...(m.value !== undefined ? { value: m.value } : {}), ...(m.mean !== undefined ? { mean: m.mean } : {}), verdict };
    return { ...v, reason: reasonFor(c, v, schoolHours), ...(c.informational ? { informational: true } : {}) };
  });
  // Informational criteria (online-class readiness) are reported, never part of the overall verdict.
  const counted = criteria.filter((c) => !c.informational);
  const verdict = counted.some((c) => c.verdict === 'FAIL') ? 'FAIL' : counted.some((c) => c.verdict === 'INSUFFICIENT') ? 'INSUFFICIENT' : 'PASS';
  const u = e.uptime;
  return {
    period: { label: period.label, kind: dates.kind, firstDate: dates.firstDate, lastDate: dates.lastDate, start, end, judgedUntil },
    verdict,
    criteria,
    ...(u && u.checks > 0 ? { uptimePct: round6(((u.up + u.collectorDown) * 100) / u.checks) } : {}),
    outageMinutes: round6(outageMsInSchool(e.outages, intervals) / 60_000),
    ...(schoolMs > 0 ? { observedPct: round6(Math.min(100, ((u?.observedS ?? 0) * 1000 * 100) / schoolMs)) } : {}),
    schoolHours: Math.round(schoolHours * 1000) / 1000,
    reasons: [...criteria.filter((c) => c.verdict !== 'PASS' && !c.informational).map((c) => c.reason), ...exclusionNotes(e)],
  };
}

const same = (a, b) => (typeof a === 'number' && typeof b === 'number' ? Math.abs(a - b) <= TOLERANCE : a === b);

/** Every place where the collector's verdict and the recomputed one differ. */
export function compareVerdicts(collector, mine) {
  const diffs = [];
  const cv = collector.verdict;
  for (const k of ['kind', 'firstDate', 'lastDate', 'start', 'end']) {
    if (!same(collector.period[k], mine.period[k])) diffs.push(`period ${k}: collector ${collector.period[k]}, recomputed ${mine.period[k]}`);
  }
  if (cv.verdict !== mine.verdict) diffs.push(`overall verdict: collector ${cv.verdict}, recomputed ${mine.verdict}`);
  for (const k of ['uptimePct', 'outageMinutes', 'observedPct', 'schoolHours']) {
    if (!same(cv[k], mine[k])) diffs.push(`${k}: collector ${cv[k]}, recomputed ${mine[k]}`);
  }
  const theirs = new Map(cv.criteria.map((c) => [c.id, c]));
  for (const c of mine.criteria) {
    const t = theirs.get(c.id);
    if (!t) {
      diffs.push(`criterion ${c.id}: in the profile but not in the collector's verdict`);
      continue;
    }
    theirs.delete(c.id);
    for (const k of ['verdict', 'samples', 'minSamples', 'threshold', 'value', 'mean', 'reason', 'informational']) {
      if (!same(t[k], c[k])) diffs.push(`criterion ${c.id} ${k}: collector ${JSON.stringify(t[k])}, recomputed ${JSON.stringify(c[k])}`);
    }
  }
  for (const id of theirs.keys()) diffs.push(`criterion ${id}: in the collector's verdict but not in the included profile`);
  const [a, b] = [cv.reasons ?? [], mine.reasons];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) diffs.push(`reason ${i + 1}: collector ${JSON.stringify(a[i])}, recomputed ${JSON.stringify(b[i])}`);
  }
  return diffs;
}

// ---------------------------------------------------------------------------------------------- main

export function verifyPack(text) {
  const pack = readPack(text);
  const integrity = checkIntegrity(pack);
  const recomputed = recompute(pack, integrity.results);
  const differences = compareVerdicts(pack.verdict, recomputed);
  return { pack, ...integrity, recomputed, differences, ok: integrity.problems.length === 0 && differences.length === 0 };
}

function main(argv) {
  const args = argv.filter((a) => a !== '--json');
  if (args.length !== 1 || args[0] === '--help' || args[0] === '-h') {
    process.stderr.write('usage: songcheck-verify PACK [--json]\n  checks a songcheck evidence pack (signatures, chain) and recomputes its verdict; exit 0 same, 1 problems or differences, 2 unreadable\n');
    return 2;
  }
  let report;
  try {
    report = verifyPack(readFileSync(args[0], 'utf8'));
  } catch (err) {
    process.stderr.write(`songcheck-verify: ${args[0]}: ${err.message}\n`);
    return 2;
  }
  const { pack, problems, notes, counts, recomputed, differences } = report;
  const cv = pack.verdict.verdict;
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ ok: report.ok, site: pack.site.code, period: pack.verdict.period.label, counts, days: report.days, problems, notes, collectorVerdict: cv.verdict, recomputedVerdict: recomputed.verdict, differences }, null, 2)}\n`);
    return report.ok ? 0 : 1;
  }
  const out = [];
  out.push(`songcheck-verify: site ${pack.site.code} (${pack.site.name}), period ${pack.verdict.period.label}, pack written ${new Date(pack.header.createdAt).toISOString()}`);
  out.push(`devices: ${pack.devices.length} (${pack.devices.filter((d) => d.key).length} with a signing key), audit entries: ${pack.audit.length}`);
  out.push(`log: ${report.days} days, ${counts.entries} entries: ${counts.signed} signed, ${counts.unsigned} unsigned, ${counts.invalid} failing signature checks; ${pack.heads.length} recorded daily heads`);
  for (const n of notes) out.push(`note: ${n}`);
  for (const p of problems) out.push(`PROBLEM ${p}`);
  out.push(`verdict: collector ${cv.verdict}, recomputed ${recomputed.verdict} (${recomputed.criteria.length} criteria)`);
  for (const c of recomputed.criteria) out.push(`  ${c.id.padEnd(20)} ${c.verdict.padEnd(12)} samples ${c.samples}/${c.minSamples}${c.value !== undefined ? `, value ${c.value}` : ''}, threshold ${c.threshold}`);
  for (const d of differences) out.push(`DIFFERS ${d}`);
  out.push(report.ok ? 'OK: every signature and the chain check, and the recomputed verdict is the same' : `NOT OK: ${problems.length} problems, ${differences.length} differences`);
  process.stdout.write(`${out.join('\n')}\n`);
  return report.ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('songcheck-verify.mjs') || process.argv[1]?.endsWith('songcheck-verify')) {
  process.exitCode = main(process.argv.slice(2));
}
