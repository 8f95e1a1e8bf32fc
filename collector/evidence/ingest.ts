// POST /measurements with the evidence feature: signatures are checked before anything is stored, the
// results that passed go through the ordinary ingest, and the ones InfluxDB stored are appended to the
// evidence log before the answer (so an acknowledged result is always in the log).
import type { Logger } from 'pino';
import type { Point } from '@influxdata/influxdb-client';
import type { MeasurementBatchResponse, ResultAck } from '../../protocol/api.ts';
import type { Result } from '../../protocol/results.ts';
import { ApiError } from '../http/errors.ts';
import type { Annotate } from '../ingest/ingest.ts';
import type { EvidenceEntry } from './log.ts';
import type { EvidenceService } from './service.ts';
import { BatchRefused } from './signatures.ts';

export async function evidenceIngest(
  evidence: EvidenceService,
  /** The ordinary ingest; it must call `capture` after its own annotations of each point. */
  ingest: (results: unknown[], capture: Annotate) => Promise<MeasurementBatchResponse>,
  items: unknown[],
  ctx: { deviceId: string; siteCode: string; agentVersion?: string; now: number },
  log: Logger,
): Promise<MeasurementBatchResponse> {
  let checked;
  try {
    checked = await evidence.check(items, ctx);
  } catch (error) {
    if (!(error instanceof BatchRefused)) throw error;
    log.warn({ code: error.code, reason: error.message }, 'batch refused: signing');
    throw new ApiError(409, error.code, error.message);
  }
  // Only what passed the signature check is validated and stored; indexes are mapped back afterwards.
  const original: number[] = [];
  const accepted: unknown[] = [];
  checked.refused.forEach((reason, i) => {
    if (reason === undefined) {
      original.push(i);
      accepted.push(checked.results[i]);
    }
  });
  const acks: ResultAck[] = [];
  checked.refused.forEach((reason, index) => {
    if (reason !== undefined) acks.push({ index, status: 'rejected', reason });
  });
  const entries: EvidenceEntry[] = [];
  // Fields the collector adds to a point (not signed by the device) go into the log line beside the result.
  const added = new Map<string, Record<string, string | number | boolean>>();
  const capture: Annotate = (result: Result, point: Point) => {
    const fields = collectorFields(result, point);
    if (fields) added.set(result.id, fields);
  };
  if (accepted.length > 0) {
    const response = await ingest(accepted, capture);
    for (const ack of response.results) {
      const index = original[ack.index]!;
      acks.push({ ...ack, index });
      if (ack.status !== 'stored') continue;
      const fields = ack.id !== undefined ? added.get(ack.id) : undefined;
      entries.push(fields ? { ...checked.entries[index]!, collector: fields } : checked.entries[index]!);
    }
  }
  try {
    await evidence.append(ctx.siteCode, entries, ctx.now);
  } catch (error) {
    log.error({ err: (error as Error).message, entries: entries.length }, 'evidence log append failed; batch not acknowledged (check the disk of SONGCHECK_EVIDENCE_DIR)');
    throw new ApiError(503, 'evidence_log_unavailable', 'the evidence log cannot be written; keep the results and retry later', { 'retry-after': '60' });
  }
  acks.sort((a, b) => a.index - b.index);
  const stored = acks.filter((a) => a.status === 'stored').length;
  // Held: kept in the dead-letter store (collector/guards/), neither stored nor the result's fault.
  const held = acks.filter((a) => a.status === 'held').length;
  return { stored, rejected: acks.length - stored - held, ...(held > 0 ? { held } : {}), results: acks };
}

/** The point's `server_*` fields (collector/throughput/server-state-fields.ts), decoded from line protocol. */
function collectorFields(result: Result, point: Point): Record<string, string | number | boolean> | undefined {
  const own = new Set(Object.keys(result.fields));
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries((point as unknown as { fields: Record<string, string> }).fields)) {
    if (!k.startsWith('server_') || own.has(k)) continue;
    out[k] = v === 'T' ? true : v === 'F' ? false : v.startsWith('"') ? (JSON.parse(v) as string) : Number(v.replace(/i$/, ''));
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
