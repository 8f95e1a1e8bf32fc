// The heart of POST /measurements: check each result on its own, write the good ones in one request,
// and if InfluxDB refuses the batch, find the culprits so that a bad neighbour costs nothing.
import type { Point } from '@influxdata/influxdb-client';
import type { MeasurementBatchResponse, ResultAck } from '../../protocol/api.ts';
import { Result, ResultId } from '../../protocol/results.ts';
import { PermanentWriteError } from '../influx/errors.ts';
import { type DeviceIdentity, resultToPoint } from '../influx/points.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import { formatIssuesLine } from '../validation.ts';

/** Results stamped further ahead than this come from a device whose clock is wrong. */
export const MAX_FUTURE_MS = 10 * 60_000;

interface Pending {
  index: number;
  id: string;
  point: Point;
}

/** The id of a result we could not parse, if it has a usable one, so the agent can match the ack. */
function idOf(raw: unknown): string | undefined {
  const id = (raw as { id?: unknown } | null)?.id;
  return ResultId.safeParse(id).success ? (id as string) : undefined;
}

/** Adds collector-side facts to a result's point before it is written (the test server's state). */
export type Annotate = (result: Result, point: Point) => void;

export function checkResults(raw: unknown[], identity: DeviceIdentity, now: number, annotate?: Annotate): { acks: ResultAck[]; pending: Pending[] } {
  const acks: ResultAck[] = [];
  const pending: Pending[] = [];
  raw.forEach((item, index) => {
    const parsed = Result.safeParse(item);
    if (!parsed.success) {
      acks.push({ index, id: idOf(item), status: 'rejected', reason: formatIssuesLine(parsed.error) });
      return;
    }
    const result = parsed.data;
    const ahead = result.measuredAt - now;
    if (ahead > MAX_FUTURE_MS) {
      acks.push({
        index,
        id: result.id,
        status: 'rejected',
        reason: `clock ahead: measuredAt is ${Math.round(ahead / 1000)} s in the future; fix the device clock`,
      });
      return;
    }
    try {
      const point = resultToPoint(result, identity);
      annotate?.(result, point);
      pending.push({ index, id: result.id, point });
    } catch (error) {
      acks.push({ index, id: result.id, status: 'rejected', reason: (error as Error).message });
    }
  });
  return { acks, pending };
}

/**
 * Writes all points in one request. If InfluxDB rejects the request as a whole (400: a field type
 * conflict or a bad line), writes them one at a time to learn which ones it refuses. Writes are
 * idempotent (same series and timestamp), so rewriting points that a partial write already stored is
 * harmless. Retryable errors propagate: then nothing is acknowledged.
 * Returns, per point, undefined when stored or InfluxDB's reason when refused.
 */
export async function writeIsolated(writer: InfluxWriter, points: Point[]): Promise<(string | undefined)[]> {
  try {
    await writer.write(points);
    return points.map(() => undefined);
  } catch (error) {
    if (!(error instanceof PermanentWriteError)) throw error;
    if (points.length === 1) return [`InfluxDB refused: ${error.message}`];
  }
  const reasons: (string | undefined)[] = [];
  for (const point of points) {
    try {
      await writer.write([point]);
      reasons.push(undefined);
    } catch (error) {
      if (!(error instanceof PermanentWriteError)) throw error;
      reasons.push(`InfluxDB refused: ${error.message}`);
    }
  }
  return reasons;
}

export async function ingest(
  writer: InfluxWriter,
  raw: unknown[],
  identity: DeviceIdentity,
  now: number,
  annotate?: Annotate,
): Promise<MeasurementBatchResponse> {
  const { acks, pending } = checkResults(raw, identity, now, annotate);
  if (pending.length > 0) {
    const reasons = await writeIsolated(writer, pending.map((p) => p.point));
    pending.forEach((p, i) => {
      const reason = reasons[i];
      acks.push(reason === undefined ? { index: p.index, id: p.id, status: 'stored' } : { index: p.index, id: p.id, status: 'rejected', reason });
    });
  }
  acks.sort((a, b) => a.index - b.index);
  const stored = acks.filter((a) => a.status === 'stored').length;
  return { stored, rejected: acks.length - stored, results: acks };
}
