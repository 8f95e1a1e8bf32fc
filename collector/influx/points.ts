// Converts one validated result into an InfluxDB point. Tags that say WHO measured (site, device,
// commune, operator, link type) come from the registry identity, never from the body, so an agent cannot
// write into another site's series. Measurement, tags and timestamp are fully determined by the result,
// so a retried write lands on the same point and overwrites it instead of duplicating.
import { Point, dateToProtocolTimestamp } from '@influxdata/influxdb-client';
import { type Result, STORAGE } from '../../protocol/results.ts';

export interface DeviceIdentity {
  deviceId: string;
  site: { code: string; commune?: string; operator?: string; linkType?: string };
}

const MAX_TAG_LENGTH = 200;

/**
 * Tag values become series keys: strip control characters, trim, cap the length, and drop trailing
 * backslashes (the client's escaping cannot represent a tag value ending in one). Empty → no tag.
 */
export function normalizeTagValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const clean = value
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '')
    .trim()
    .slice(0, MAX_TAG_LENGTH)
    .replace(/\\+$/, '')
    .trim();
  return clean === '' ? undefined : clean;
}

function tag(point: Point, name: string, value: string | undefined): void {
  const clean = normalizeTagValue(value);
  if (clean !== undefined) point.tag(name, clean);
}

// One identity serves a whole batch; its tags are normalised once, not once per result.
const identityTagCache = new WeakMap<DeviceIdentity, [string, string | undefined][]>();

function identityTags(identity: DeviceIdentity): [string, string | undefined][] {
  let tags = identityTagCache.get(identity);
  if (!tags) {
    tags = [
      ['site', identity.site.code],
      ['device', identity.deviceId],
      ['commune', identity.site.commune],
      ['operator', identity.site.operator],
      ['link_type', identity.site.linkType],
    ].map(([k, v]) => [k!, normalizeTagValue(v)] as [string, string | undefined]);
    identityTagCache.set(identity, tags);
  }
  return tags;
}

export function resultToPoint(result: Result, identity: DeviceIdentity): Point {
  const storage = STORAGE[result.probe];
  const point = new Point(storage.measurement);
  for (const [name, value] of identityTags(identity)) if (value !== undefined) point.tag(name, value);
  tag(point, 'target', result.target);
  tag(point, 'code', result.code);
  tag(point, 'method', storage.method);

  for (const [name, value] of Object.entries(result.fields as Record<string, unknown>)) {
    // Always float: a field written once as an integer and once as a float would be a type conflict.
    if (typeof value === 'number') point.floatField(name, value);
    else if (typeof value === 'string') point.stringField(name, value);
    else if (typeof value === 'boolean') point.booleanField(name, value);
  }
  point.stringField('result_id', result.id);
  if (result.detail !== undefined) point.stringField('detail', result.detail);
  point.timestamp(new Date(result.measuredAt));
  return point;
}

/** Line protocol with a millisecond timestamp, matching `precision=ms` on the write. */
export function toLine(point: Point): string {
  const line = point.toLineProtocol({
    convertTime: (t) => (t instanceof Date ? dateToProtocolTimestamp.ms(t) : t === undefined ? undefined : String(t)),
  });
  if (line === undefined) throw new Error('point has no measurement or no fields');
  return line;
}
