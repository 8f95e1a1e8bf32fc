// Converts one validated result into an InfluxDB point. Tags that say WHO measured (site, device,
// commune, operator, link type) come from the registry identity, never from the body, so an agent cannot
// write into another site's series. Measurement, tags and timestamp are fully determined by the result,
// so a retried write lands on the same point and overwrites it instead of duplicating.
import { Point, type PointSettings, dateToProtocolTimestamp } from '@influxdata/influxdb-client';
import type { Result } from '../../protocol/results.ts';
import { storageOf } from './storage.ts';

export interface DeviceIdentity {
  deviceId: string;
  site: { code: string; commune?: string; operator?: string; linkType?: string };
}

const MAX_TAG_LENGTH = 200;

/**
 * Tag values become series keys: strip control characters, replace lone surrogates, trim, cap the length, and drop trailing
 * backslashes (the client's escaping cannot represent a tag value ending in one). Empty → no tag.
 */
export function normalizeTagValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const clean = value
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .trim()
    .slice(0, MAX_TAG_LENGTH)
    // A lone UTF-16 surrogate (sent, or left by the cut above) cannot be written as UTF-8; make it the
    // replacement character here rather than in the encoder, so the value returned is the value stored.
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/\\+$/, '')
    .trim();
  return clean === '' ? undefined : clean;
}

// One identity serves a whole batch: its tags are normalised once, not once per result, and so are the
// target and code values, which a batch repeats many times (capped, in case one identity outlives a batch).
interface BatchTags {
  identity: [string, string][];
  values: Map<string, string | undefined>;
}
const MAX_CACHED_VALUES = 256;
const batchTagCache = new WeakMap<DeviceIdentity, BatchTags>();

function batchTags(identity: DeviceIdentity): BatchTags {
  let tags = batchTagCache.get(identity);
  if (!tags) {
    const pairs: [string, string | undefined][] = [
      ['site', identity.site.code],
      ['device', identity.deviceId],
      ['commune', identity.site.commune],
      ['operator', identity.site.operator],
      ['link_type', identity.site.linkType],
    ];
    tags = { identity: [], values: new Map() };
    for (const [name, value] of pairs) {
      const clean = normalizeTagValue(value);
      if (clean !== undefined) tags.identity.push([name, clean]);
    }
    batchTagCache.set(identity, tags);
  }
  return tags;
}

function tag(point: Point, tags: BatchTags, name: string, value: string): void {
  let clean = tags.values.get(value);
  if (clean === undefined && !tags.values.has(value)) {
    clean = normalizeTagValue(value);
    if (tags.values.size < MAX_CACHED_VALUES) tags.values.set(value, clean);
  }
  if (clean !== undefined) point.tag(name, clean);
}

export function resultToPoint(result: Result, identity: DeviceIdentity): Point {
  const storage = storageOf(result);
  const point = new Point(storage.measurement);
  const tags = batchTags(identity);
  for (const [name, value] of tags.identity) point.tag(name, value);
  tag(point, tags, 'target', result.target);
  tag(point, tags, 'code', result.code);
  point.tag('method', storage.method);
  if (storage.tags) for (const [name, value] of storage.tags) point.tag(name, value);

  const fields = result.fields as Record<string, unknown>;
  for (const name in fields) {
    const value = fields[name];
    // Always float: a field written once as an integer and once as a float would be a type conflict.
    if (typeof value === 'number') point.floatField(name, value);
    else if (typeof value === 'string') point.stringField(name, value);
    else if (typeof value === 'boolean') point.booleanField(name, value);
  }
  point.stringField('result_id', result.id);
  if (result.detail !== undefined) point.stringField('detail', result.detail);
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
  return line;
}
