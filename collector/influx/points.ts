// Converts one validated result into an InfluxDB point. Tags that say WHO measured (site, device,
// commune, operator, link type) come from the registry identity, never from the body, so an agent cannot
// write into another site's series. Measurement, tags and timestamp are fully determined by the result,
// so a retried write lands on the same point and overwrites it instead of duplicating.
import { Point, type PointSettings, dateToProtocolTimestamp } from '@influxdata/influxdb-client';
import { type Result, TARGET_PATTERN } from '../../protocol/results.ts';
import { storageOf } from './storage.ts';

export interface DeviceIdentity {
  deviceId: string;
  site: { code: string; commune?: string; operator?: string; linkType?: string };
}

const MAX_TAG_LENGTH = 200;

// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The grammar of an identity tag value (site, device, commune, operator, link type: registry data, see
 * docs/data-model.md#tag-grammar): printable Unicode without backslashes, at most 200 characters. Control
 * characters are removed, a backslash becomes `/` (InfluxDB 1.x reads a backslash anywhere on a line as an
 * escape, so a tag value holding one can move where the fields begin), lone surrogates become U+FFFD (they
 * cannot be written as UTF-8), the value is trimmed; empty → no tag. Spaces, commas and `=` stay: the
 * line-protocol writer escapes them, and with no backslash of their own those escapes are unambiguous.
 */
export function normalizeTagValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const clean = value
    .replace(CONTROL, '')
    .replace(/\\/g, '/')
    .trim()
    .slice(0, MAX_TAG_LENGTH)
    // A lone surrogate (sent, or left by the cut above) is replaced here rather than in the encoder, so the
    // value returned is the value stored.
    .replace(LONE_SURROGATE, '\ufffd')
    .trim();
  return clean === '' ? undefined : clean;
}

/**
 * What a string field stores (docs/data-model.md#tag-grammar): control characters, line breaks included,
 * become spaces and lone surrogates U+FFFD. Quotes and backslashes are kept and escaped by the writer
 * (`\"`, `\\`), as InfluxDB 1.x's parser reads them back.
 */
export function safeStringField(value: string): string {
  return value.replace(CONTROL, ' ').replace(LONE_SURROGATE, '\ufffd');
}

// One identity serves a whole batch: its tags are normalised once, not once per result.
const batchTagCache = new WeakMap<DeviceIdentity, [string, string][]>();

/** The identity's tags (site, device, commune, operator, link type), normalised; absent ones left out. */
export function identityTags(identity: DeviceIdentity): [string, string][] {
  let tags = batchTagCache.get(identity);
  if (!tags) {
    const pairs: [string, string | undefined][] = [
      ['site', identity.site.code],
      ['device', identity.deviceId],
      ['commune', identity.site.commune],
      ['operator', identity.site.operator],
      ['link_type', identity.site.linkType],
    ];
    tags = [];
    for (const [name, value] of pairs) {
      const clean = normalizeTagValue(value);
      if (clean !== undefined) tags.push([name, clean]);
    }
    batchTagCache.set(identity, tags);
  }
  return tags;
}

export function resultToPoint(result: Result, identity: DeviceIdentity): Point {
  const storage = storageOf(result);
  const point = new Point(storage.measurement);
  for (const [name, value] of identityTags(identity)) point.tag(name, value);
  // The schema held the target to its grammar; checked again because a tag outside it could split a line.
  if (!TARGET_PATTERN.test(result.target)) throw new Error('target outside the tag grammar (docs/data-model.md#tag-grammar)');
  point.tag('target', result.target);
  point.tag('code', result.code);
  point.tag('method', storage.method);
  if (storage.tags) for (const [name, value] of storage.tags) point.tag(name, value);

  const fields = result.fields as Record<string, unknown>;
  for (const name in fields) {
    const value = fields[name];
    // Always float: a field written once as an integer and once as a float would be a type conflict.
    if (typeof value === 'number') point.floatField(name, value);
    else if (typeof value === 'string') point.stringField(name, safeStringField(value));
    else if (typeof value === 'boolean') point.booleanField(name, value);
  }
  point.stringField('result_id', result.id);
  if (result.detail !== undefined) point.stringField('detail', safeStringField(result.detail));
  // Epoch ms as a number: the write uses precision=ms, so no Date is needed.
  point.timestamp(result.measuredAt);
  return point;
}

// Built once: a settings object (and its closure) per line showed up in profiles of large batches.
const MS_PRECISION: PointSettings = {
  convertTime: (t) => (t instanceof Date ? dateToProtocolTimestamp.ms(t) : t === undefined ? undefined : String(t)),
};

/** Line protocol with a millisecond timestamp, matching `precision=ms` on the write. */
export function toLine(point: Point): string {
  const line = point.toLineProtocol(MS_PRECISION);
  if (line === undefined) throw new Error('point has no measurement or no fields');
  // One point, one line: a raw line break would let the rest of the text be read as another point.
  if (/[\n\r]/.test(line)) throw new Error('a point serialised to more than one line (a tag or field escaped the grammar)');
  return line;
}
