// The few InfluxQL calls the test and demo helpers make against InfluxDB 1.x's HTTP API (POST /query):
// create a database, run a statement and fail loudly on any error. The collector has its own client
// (collector/influx/writer.ts); this one serves scripts/, test/ and bench/.

/** Quotes an InfluxQL identifier (database, measurement, tag key ...). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

interface V1QueryResponse {
  results?: { statement_id?: number; error?: string; series?: unknown[] }[];
  error?: string;
}

/**
 * Runs InfluxQL statements with POST /query (POST works for every statement; InfluxDB 1.x refuses
 * CREATE/DROP over GET). Throws on a transport error, a non-2xx answer or a statement error.
 */
export async function postInfluxQL(url: string, q: string, params: Record<string, string> = {}): Promise<V1QueryResponse> {
  const res = await fetch(new URL('/query', url), {
    method: 'POST',
    body: new URLSearchParams({ ...params, q }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: V1QueryResponse;
  try {
    body = JSON.parse(text) as V1QueryResponse;
  } catch {
    throw new Error(`InfluxDB /query answered ${res.status}: ${text.slice(0, 200)}`);
  }
  const error = body.error ?? body.results?.find((r) => r.error !== undefined)?.error;
  if (!res.ok || error !== undefined) throw new Error(`InfluxDB /query ${JSON.stringify(q)} failed (${res.status}): ${error ?? text.slice(0, 200)}`);
  return body;
}

/** CREATE DATABASE "name" on the server at url. */
export async function createInfluxDatabase(url: string, name: string): Promise<void> {
  await postInfluxQL(url, `CREATE DATABASE ${quoteIdent(name)}`);
}
