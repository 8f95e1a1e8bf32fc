// The collector's throughput service: an ndt7 server (WebSocket) and the multi-stream HTTP endpoints,
// behind one admission step (who may test, and how many tests at once). The streaming endpoints are
// served at the node:http level, before Hono: they move megabytes and must not pass the JSON body limit
// or web-stream adapters. The small JSON endpoints (test token, site lease) are Hono routes (routes.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { API_PREFIX } from '../../protocol/api.ts';
import type { Registry } from '../registry/registry.ts';
import { RevocationGuard } from '../auth/ws-upgrade.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import { type Admission, DEFAULT_THROUGHPUT_LIMITS, type ThroughputLimits } from './admission.ts';
import { createNdt7Server, NDT7_PATHS } from './ndt7-server.ts';
import { authenticator, credentialOf, isAllowedInQuery, TestTokens, type Authenticate, type TestCaller } from './auth.ts';
import { handleHttpDownload, handleHttpUpload } from './http-streams.ts';
import { ServerStateSampler } from './server-state.ts';
import { ServerStateStore } from './server-state-store.ts';
import { ThroughputStats } from './stats.ts';
import { type SlotAnswer, ThroughputStore, type TestKind } from './store.ts';

export interface ThroughputDeps {
  /** With `events`, an open ndt7 test is closed (4401) as soon as its device is revoked. */
  registry: Pick<Registry, 'authenticateDevice'> & Partial<Pick<Registry, 'events'>>;
  dataDir: string;
  /** Key material for test tokens (SONGCHECK_TEST_TOKEN_KEY, never the admin token; a derived key is used). */
  testTokenKey: string;
  logger: Logger;
  limits?: Partial<ThroughputLimits>;
  now?: () => number;
}


export type ThroughputService = Awaited<ReturnType<typeof createThroughputService>>;

export async function createThroughputService(deps: ThroughputDeps) {
  const now = deps.now ?? Date.now;
  const limits: ThroughputLimits = { ...DEFAULT_THROUGHPUT_LIMITS, ...deps.limits };
  const store = await ThroughputStore.open(deps.dataDir, now);
  const stats = new ThroughputStats(store, limits);
  const tokens = new TestTokens(deps.testTokenKey, now);
  const authenticate: Authenticate = authenticator(deps.registry, tokens);
  const logger = deps.logger.child({ component: 'throughput' });
  // The server's own state while each test runs (docs/throughput.md "The server's state during a test").
  // The sampler reads the running count synchronously every half second: it gets the last count read from
  // the shared store, and each read starts the next one (at most one sample interval old).
  let runningNow = 0;
  let reading = false;
  const runningCount = (): number => {
    if (!reading) {
      reading = true;
      store.running().then((n) => (runningNow = n), () => {}).finally(() => (reading = false));
    }
    return runningNow;
  };
  const sampler = new ServerStateSampler(runningCount, now);
  const serverStates = await ServerStateStore.open(deps.dataDir);
  const openTests = new Map<string, { device: string; site: string; kind: TestKind; startedAt: number; end: ReturnType<ServerStateSampler['begin']> }>();
  /** Gives the slot back and stores what the server looked like during the test. */
  const tracked = {
    async endTest(slot: string): Promise<void> {
      const open = openTests.get(slot);
      await store.endTest(slot, open);
      if (!open) return;
      openTests.delete(slot);
      const state = open.end();
      try {
        if (state) await serverStates.record(open.device, open.kind, open.startedAt, now(), state);
      } catch (err) {
        logger.warn({ err }, 'could not store the server state of a test');
      }
    },
  };

  // Each admission is a write transaction of the shared store: a device opening connections in a loop is
  // stopped here, in memory, first.
  const attempts = new RateLimiter({ burst: limits.attemptBurst, perSecond: limits.attemptsPerMinute / 60 }, now);
  /** Connections of each device waiting for a slot in this process. */
  const queuedByDevice = new Map<string, number>();

  /** The answer to a refused admission: status, a reason a person can act on, when to come back. */
  function refusal(answer: Exclude<SlotAnswer, { slot: string }>, max: number, caller: TestCaller): Admission {
    switch (answer.refused) {
      case 'device_busy':
        stats.budget.refusedDeviceBusy++;
        return {
          status: 429, code: 'rate_limited', retryAfterS: 15,
          message: `this device already holds ${answer.running} throughput connection(s): one test at a time per device (an ndt7 test, or at most ${limits.httpStreamsPerDevice} HTTP streams)`,
        };
      case 'site_busy':
        stats.budget.refusedSiteBusy++;
        return {
          status: 503, code: 'busy', retryAfterS: Math.max(1, Math.ceil(answer.retryAfterMs / 1000)),
          message: `another device of site ${caller.siteCode} is testing (it holds the site's lease); one test at a time per site`,
        };
      case 'server_full':
        return { status: 503, code: 'too_many_tests', message: `${max} tests are already running on this server; try again later`, retryAfterS: 15 + Math.floor(Math.random() * 30) };
    }
  }

  /** Authenticates and takes a slot, waiting up to queueWaitMs for one (polling the shared store). */
  async function admit(req: IncomingMessage, url: URL, kind: TestKind, gone: AbortSignal): Promise<Admission & { caller?: TestCaller }> {
    try {
      return await admitOrThrow(req, url, kind, gone);
    } catch (err) {
      // The store is unreachable (PostgreSQL restarting): refuse this test, keep the process.
      logger.error({ err }, 'throughput admission failed');
      return { status: 503, code: 'busy', message: 'the collector cannot reach its database right now; try again later', retryAfterS: 30 };
    }
  }

  async function admitOrThrow(req: IncomingMessage, url: URL, kind: TestKind, gone: AbortSignal): Promise<Admission & { caller?: TestCaller }> {
    const credential = credentialOf(req, url);
    const caller = credential ? await authenticate(credential) : undefined;
    if (!caller) {
      const message = credential?.inQuery && !isAllowedInQuery(credential.token)
        ? 'only a test token may travel in the URL (?access_token=), where proxies and access logs keep it; send the device token as "Authorization: Bearer …", or ask POST /api/v1/ndt7/token for a test token'
        : 'send a device token as "Authorization: Bearer …", or a test token (POST /api/v1/ndt7/token) as "Authorization: Bearer …" or ?access_token=';
      return { status: 401, code: 'unauthorized', message };
    }
    const family = kind.startsWith('ndt7') ? stats.ndt7 : stats.http;
    const attempt = attempts.take(caller.deviceId);
    if (!attempt.ok) {
      family.refused++;
      stats.budget.refusedTooManyAttempts++;
      return { status: 429, code: 'rate_limited', retryAfterS: attempt.retryAfterS, message: `this device opened more than ${limits.attemptBurst} test connections at once or ${limits.attemptsPerMinute} a minute; retry after ${attempt.retryAfterS} s` };
    }
    const max = kind.startsWith('ndt7') ? limits.ndt7MaxConcurrent : limits.httpMaxStreams;
    // A slot outlives the test's hard limit a little, so a crashed process frees it on its own.
    const ttlMs = kind.startsWith('ndt7') ? 20_000 : limits.httpMaxMs + 5_000;
    const want = { kind, device: caller.deviceId, site: caller.siteCode, max, httpPerDevice: limits.httpStreamsPerDevice, ttlMs };
    let answer = await store.tryStartTest(want);
    // Waiting covers an honest agent's next connection arriving just before its last one's slot is freed.
    // A device never has more connections waiting than it may hold slots: the rest are refused at once.
    const waiting = queuedByDevice.get(caller.deviceId) ?? 0;
    if (!('slot' in answer) && waiting < limits.httpStreamsPerDevice) {
      family.queued++;
      queuedByDevice.set(caller.deviceId, waiting + 1);
      const deadline = now() + limits.queueWaitMs;
      try {
        for (let i = 0; i < 1000 && !('slot' in answer) && !gone.aborted && now() < deadline; i++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          answer = await store.tryStartTest(want);
        }
      } finally {
        family.queued--;
        const left = (queuedByDevice.get(caller.deviceId) ?? 1) - 1;
        if (left > 0) queuedByDevice.set(caller.deviceId, left);
        else queuedByDevice.delete(caller.deviceId);
      }
    }
    if (!('slot' in answer)) {
      family.refused++;
      return refusal(answer, max, caller);
    }
    const { slot } = answer;
    openTests.set(slot, { device: caller.deviceId, site: caller.siteCode, kind, startedAt: now(), end: sampler.begin(max) });
    return { slot, caller };
  }

  const guard = deps.registry.events ? new RevocationGuard(deps.registry as Pick<Registry, 'events'>) : undefined;
  const ndt7 = createNdt7Server({ admit, store: tracked, stats, floor: limits, logger, now, ...(guard ? { guard } : {}) });

  return {
    store,
    serverStates,
    stats,
    tokens,
    authenticate,
    limits,
    /** Serves the streaming HTTP endpoints; false for any other request (Hono takes it). */
    handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
      const path = (req.url ?? '').split('?')[0];
      if (path === `${API_PREFIX}/throughput/download` && req.method === 'GET') {
        void handleHttpDownload(req, res, { admit, store: tracked, stats, limits, logger });
        return true;
      }
      if (path === `${API_PREFIX}/throughput/upload` && req.method === 'POST') {
        void handleHttpUpload(req, res, { admit, store: tracked, stats, limits, logger, now });
        return true;
      }
      return false;
    },
    /** Takes WebSocket upgrades for the ndt7 paths; false for any other path. */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      const path = (req.url ?? '').split('?')[0] ?? '';
      if (!NDT7_PATHS.has(path)) return false;
      void ndt7.upgrade(req, socket, head);
      return true;
    },
    async close(): Promise<void> {
      ndt7.close();
      await serverStates.close();
      await store.close();
    },
  };
}
