// The heart of POST /measurements: check each result on its own, write the good ones in one request, and
// if InfluxDB refuses some, keep those in the dead-letter store, so that a bad neighbour or the database's
// own state costs an honest result nothing. A result is `rejected` (and deleted by its agent) only when the
// result itself is at fault: its schema, the tag grammar, or its device's series budget.
import type { Point } from '@influxdata/influxdb-client';
import type { MeasurementBatchResponse, ResultAck } from '../../protocol/api.ts';
import { Result, ResultId } from '../../protocol/results.ts';
import type { HeldResult } from '../guards/dead-letters.ts';
import type { IngestGuards } from '../guards/guards.ts';
import { versionAt } from '../guards/site-versions.ts';
import { RetryableWriteError } from '../influx/errors.ts';
import { resultToPoint, toLine } from '../influx/points.ts';
import { storageOf } from '../influx/storage.ts';
import { writeIsolated } from '../influx/write-isolated.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import type { Site } from '../registry/site.ts';
import { markLeftOut } from '../throughput/left-out.ts';
import { formatIssuesLine } from '../validation.ts';

export { MAX_FUTURE_MS } from '../guards/clock.ts';

/** Adds collector-side facts to a result's point before it is written (the test server's state). */
export type Annotate = (result: Result, point: Point) => void;

export interface IngestContext {
  writer: Pick<InfluxWriter, 'writeLines'>;
  guards: IngestGuards;
  deviceId: string;
  site: Pick<Site, 'code' | 'commune' | 'operator' | 'linkType' | 'updatedAt'>;
  now: number;
  /** The device's clock when it sent the batch: corrects results stamped in the future. */
  sentAt?: number;
  annotate?: Annotate;
}

interface Pending {
  index: number;
  id: string;
  measurement: string;
  line: string;
}

/** The id of a result we could not parse, if it has a usable one, so the agent can match the ack. */
function idOf(raw: unknown): string | undefined {
  const id = (raw as { id?: unknown } | null)?.id;
  return ResultId.safeParse(id).success ? (id as string) : undefined;
}

export async function checkResults(ctx: IngestContext, raw: unknown[]): Promise<{ acks: ResultAck[]; pending: Pending[] }> {
  const { guards, deviceId, now } = ctx;
  const acks: ResultAck[] = [];
  const pending: Pending[] = [];
  const versions = await guards.siteVersions.versionsOf(ctx.site);
  const identities = new Map<DeviceIdentitySite, { deviceId: string; site: DeviceIdentitySite }>();
  let overBudget = 0;
  for (const [index, item] of raw.entries()) {
    const parsed = Result.safeParse(item);
    if (!parsed.success) {
      acks.push({ index, id: idOf(item), status: 'rejected', reason: formatIssuesLine(parsed.error) });
      continue;
    }
    const result = parsed.data;
    const admission = await guards.budget.admit(deviceId, result.probe, result.target);
    if (!admission.ok) {
      overBudget++;
      acks.push({
        index, id: result.id, status: 'rejected',
        reason: `series budget: this device already reports ${admission.known} distinct targets for probe ${result.probe} (limit ${guards.budget.limit}, SONGCHECK_MAX_TARGETS_PER_PROBE); results for a new target are refused and the device is flagged`,
      });
      continue;
    }
    try {
      const { time, shiftMs } = await guards.clock.storedTime(deviceId, result.id, result.measuredAt, ctx.sentAt, now);
      const site = versionAt(versions, time);
      let identity = identities.get(site);
      if (!identity) identities.set(site, (identity = { deviceId, site }));
      const point = resultToPoint(result, identity);
      point.timestamp(time);
      if (shiftMs !== 0) point.floatField('clock_shift_ms', shiftMs);
      ctx.annotate?.(result, point);
      markLeftOut(result, point);
      pending.push({ index, id: result.id, measurement: storageOf(result).measurement, line: toLine(point) });
    } catch (error) {
      acks.push({ index, id: result.id, status: 'rejected', reason: (error as Error).message });
    }
  }
  if (overBudget > 0) {
    await guards.flags.raise(deviceId, ctx.site, 'series_budget', overBudget, `results for more than ${guards.budget.limit} distinct targets of one probe`);
  }
  return { acks, pending };
}
type DeviceIdentitySite = ReturnType<typeof versionAt>;

export async function ingest(ctx: IngestContext, raw: unknown[]): Promise<MeasurementBatchResponse> {
  const { acks, pending } = await checkResults(ctx, raw);
  if (pending.length > 0) {
    const refusals = await writeIsolated(ctx.writer, pending.map((p) => p.line));
    const held: HeldResult[] = [];
    pending.forEach((p, i) => {
      const refusal = refusals[i];
      if (refusal === undefined) {
        acks.push({ index: p.index, id: p.id, status: 'stored' });
        return;
      }
      held.push({ deviceId: ctx.deviceId, siteCode: ctx.site.code, resultId: p.id, measurement: p.measurement, line: p.line, refusal });
      acks.push({ index: p.index, id: p.id, status: 'held', reason: `kept by the collector in its dead-letter store (${refusal.kind}): ${refusal.message}` });
    });
    try {
      await ctx.guards.deadLetters.hold(held);
    } catch (error) {
      // Custody could not be taken: the agent keeps the results and sends them again.
      throw new RetryableWriteError(`could not keep refused results in the dead-letter store: ${(error as Error).message}`);
    }
  }
  acks.sort((a, b) => a.index - b.index);
  const stored = acks.filter((a) => a.status === 'stored').length;
  const heldCount = acks.filter((a) => a.status === 'held').length;
  return { stored, rejected: acks.length - stored - heldCount, ...(heldCount > 0 ? { held: heldCount } : {}), results: acks };
}
