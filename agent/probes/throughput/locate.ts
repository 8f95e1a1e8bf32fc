// M-Lab's public ndt7 servers, found through the Locate API v2 (https://locate.measurementlab.net/v2/
// nearest/ndt/ndt7). Optional and off by default: M-Lab publishes every test, with the client's IP address,
// as open data. The agent asks Locate at most once per M-Lab test, keeps its own minimum interval between
// M-Lab tests, and backs off after a 429 (Locate's rate limit) or an empty answer (M-Lab out of capacity).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../platform/atomic-file.ts';
import { requestFor } from '../../net/request-for.ts';
import { AGENT_VERSION } from '../../version.ts';

export const LOCATE_URL = 'https://locate.measurementlab.net/v2/nearest/ndt/ndt7';

export interface LocatedServer {
  machine: string;
  download: string;
  upload: string;
}

interface MlabState {
  lastTestAt?: number;
  notBefore?: number;
}

function stateFile(dataDir: string): string {
  return join(dataDir, 'mlab-state.json');
}

function readState(dataDir: string): MlabState {
  try {
    return existsSync(stateFile(dataDir)) ? (JSON.parse(readFileSync(stateFile(dataDir), 'utf8')) as MlabState) : {};
  } catch {
    return {};
  }
}

function writeState(dataDir: string, s: MlabState): void {
  writeFileAtomic(stateFile(dataDir), JSON.stringify(s) + '\n', 0o600);
}

/** Undefined when an M-Lab test may run now; otherwise why not. */
export function mlabWait(dataDir: string, minIntervalMs: number, now: number): string | undefined {
  const s = readState(dataDir);
  if (s.notBefore && now < s.notBefore) return `M-Lab asked us to wait (Locate rate limit or no capacity) until ${new Date(s.notBefore).toISOString()}`;
  if (s.lastTestAt && now - s.lastTestAt < minIntervalMs) return `last M-Lab test was less than ${Math.round(minIntervalMs / 60_000)} min ago`;
  return undefined;
}

/** Picks the first server Locate returns; records the attempt and any back-off it asked for. */
export async function locate(dataDir: string, now: number, signal: AbortSignal, locateUrl = LOCATE_URL): Promise<LocatedServer | { error: string }> {
  const s = readState(dataDir);
  writeState(dataDir, { ...s, lastTestAt: now });
  const url = new URL(locateUrl);
  url.searchParams.set('client_name', 'songcheck-agent');
  url.searchParams.set('client_version', AGENT_VERSION);
  const request = await requestFor(url);
  return new Promise((resolve) => {
    const req = request(url, { headers: { 'user-agent': `songcheck-agent/${AGENT_VERSION}`, accept: 'application/json' }, signal, timeout: 15_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text = (text + c).slice(0, 256 * 1024)));
      res.on('end', () => {
        if (res.statusCode === 429) {
          const retry = Number(res.headers['retry-after']) || 3600;
          writeState(dataDir, { lastTestAt: now, notBefore: now + retry * 1000 });
          return resolve({ error: `M-Lab Locate rate limit (HTTP 429); next try after ${retry} s` });
        }
        if (res.statusCode !== 200) return resolve({ error: `M-Lab Locate answered HTTP ${res.statusCode}` });
        try {
          const body = JSON.parse(text) as { results?: { machine?: string; urls?: Record<string, string> }[] };
          const r = body.results?.[0];
          const download = r?.urls?.['wss:///ndt/v7/download'];
          const upload = r?.urls?.['wss:///ndt/v7/upload'];
          if (!r || !download || !upload) {
            writeState(dataDir, { lastTestAt: now, notBefore: now + 3_600_000 });
            return resolve({ error: 'M-Lab has no capacity now (empty Locate answer)' });
          }
          resolve({ machine: r.machine ?? new URL(download).host, download, upload });
        } catch {
          resolve({ error: 'M-Lab Locate answer not understood' });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('M-Lab Locate did not answer within 15 s')));
    req.on('error', (err) => resolve({ error: `M-Lab Locate: ${err.message}` }));
    req.end();
  });
}
