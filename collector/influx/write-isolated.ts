// Writes lines in one request and, if InfluxDB refuses the request, one at a time to learn which lines it
// refuses, so that one refused point costs its neighbours nothing. Writes are idempotent (same series and
// timestamp), so rewriting points that a partial write already stored is harmless. Retryable errors
// propagate: then nothing is known to be stored.
import { PermanentWriteError } from './errors.ts';
import type { InfluxWriter } from './writer.ts';

/** Per line: undefined when stored, or InfluxDB's refusal. */
export async function writeIsolated(writer: Pick<InfluxWriter, 'writeLines'>, lines: string[]): Promise<(PermanentWriteError | undefined)[]> {
  try {
    await writer.writeLines(lines);
    return lines.map(() => undefined);
  } catch (error) {
    if (!(error instanceof PermanentWriteError)) throw error;
    if (lines.length === 1) return [error];
  }
  const refusals: (PermanentWriteError | undefined)[] = [];
  for (const line of lines) {
    try {
      await writer.writeLines([line]);
      refusals.push(undefined);
    } catch (error) {
      if (!(error instanceof PermanentWriteError)) throw error;
      refusals.push(error);
    }
  }
  return refusals;
}
