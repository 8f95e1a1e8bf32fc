// The collector's end of the control channel (docs/control-channel.md): accepts agents' WebSockets at
// CONTROL_PATH (device token, admission control), answers heartbeats with timestamps for the clock
// estimate, keeps presence, and delivers configurations and commands. State that other processes need
// (presence, config states, commands) lives in the collector's store (store.ts: SQLite, or PostgreSQL
// shared by several collectors); everything per socket stays in memory.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { Point } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import {
  AgentMessage, CLOSE_PROTOCOL, CLOSE_REPLACED, type CollectorMessage, CONTROL_MAX_MESSAGE_BYTES, CONTROL_PATH, CONTROL_PROTOCOL_VERSION, parseControlMessage,
} from '../../protocol/control.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import type { Registry } from '../registry/registry.ts';
import type { Site } from '../registry/site.ts';
import { acceptDeviceUpgrade, authenticateUpgrade, refuseUpgrade, RevocationGuard, upgradeAddress } from '../auth/ws-upgrade.ts';
import { CLOSE_FLOODING, ConnectionBudget, DEFAULT_MESSAGE_BUDGET, type MessageBudgetCounters, type MessageBudgetOptions } from './message-budget.ts';
import { presencePoint, sweepPresence, writeChunked } from './presence.ts';
import { CONTROL_CHANNEL, ControlStore, type PresenceWrite, upsertPresence } from './store.ts';

export interface ControlOptions extends MessageBudgetOptions {
  heartbeatSeconds: number;
  /** Handshakes answered per second (token bucket); the excess gets 503 + Retry-After. */
  handshakesPerSecond: number;
  handshakeBurst: number;
  /** Failed (unauthenticated) upgrades allowed per client address; beyond it 429 + Retry-After. */
  failedUpgradeBurst: number;
  failedUpgradesPerSecond: number;
  /** Handshakes one authenticated device may make at once, and per minute after that; beyond it 429 + Retry-After, before the shared budget. */
  deviceHandshakeBurst: number;
  deviceHandshakesPerMinute: number;
  /** Connections this process holds at most. */
  maxConnections: number;
  /** How often presence and last-seen times are written to SQLite (one transaction each time). */
  flushMs: number;
  /** How often this process looks for new configurations and commands (they may come from another process). */
  pollMs: number;
  /** How often the presence sweep runs (one point per device; only the lease holder writes). */
  sweepMs: number;
}

export const DEFAULT_CONTROL_OPTIONS: ControlOptions = {
  heartbeatSeconds: 30,
  handshakesPerSecond: 200,
  handshakeBurst: 400,
  // A school's devices share one NAT address: a few revoked or mis-enrolled agents must not trip it.
  failedUpgradeBurst: 30,
  failedUpgradesPerSecond: 0.5,
  // An agent reconnects once per collector restart or link flap, with backoff: 10 at once, then one every 10 s.
  deviceHandshakeBurst: 10,
  deviceHandshakesPerMinute: 6,
  maxConnections: 20_000,
  flushMs: 20_000,
  pollMs: 1_000,
  sweepMs: 60_000,
  ...DEFAULT_MESSAGE_BUDGET,
};

export interface ControlDeps {
  registry: Registry;
  writer: InfluxWriter;
  logger: Logger;
  now?: () => number;
  options?: Partial<ControlOptions>;
  /** Behind a reverse proxy: take the client address from X-Forwarded-For (SONGCHECK_TRUST_PROXY). */
  trustProxy?: boolean;
}

interface Conn {
  ws: WebSocket;
  deviceId: string;
  site: Site;
  helloed: boolean;
  agentVersion?: string;
  lastSeen: number;
  offsetMs?: number;
  /** The configuration version the agent runs or was last sent. */
  configVersion: number;
  dirty: boolean;
  /** The offset last written to SQLite. */
  storedOffsetMs?: number;
  /** What this connection may still send (message-budget.ts). */
  budget: ConnectionBudget;
  /** The text of the last state message handled (hello, config_result, command_result): a repeat is dropped. */
  lastStateText?: string;
  closedForFlooding?: boolean;
}

export type ControlHub = ReturnType<typeof createControlHub>;

/** Devices per SQLite transaction in a flush. */
const FLUSH_CHUNK = 500;

export function createControlHub(deps: ControlDeps) {
  const now = deps.now ?? Date.now;
  const opts: ControlOptions = { ...DEFAULT_CONTROL_OPTIONS, ...deps.options };
  const logger = deps.logger.child({ component: 'control' });
  const store = new ControlStore(deps.registry.store, now);
  const holder = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const holderTtlMs = Math.max(90_000, opts.flushMs * 4);
  // This process's devices count as connected while this lease is renewed (every flush).
  void store.tryLease(`holder:${holder}`, holder, holderTtlMs).catch((err: unknown) => logger.error({ err }, 'control: could not take the holder lease'));
  const wss = new WebSocketServer({ noServer: true, maxPayload: CONTROL_MAX_MESSAGE_BYTES, perMessageDeflate: false });
  const guard = new RevocationGuard(deps.registry);
  const handshakes = new RateLimiter({ burst: opts.handshakeBurst, perSecond: opts.handshakesPerSecond }, now);
  const failedUpgrades = new RateLimiter({ burst: opts.failedUpgradeBurst, perSecond: opts.failedUpgradesPerSecond }, now);
  const deviceHandshakes = new RateLimiter({ burst: opts.deviceHandshakeBurst, perSecond: opts.deviceHandshakesPerMinute / 60 }, now);
  const conns = new Map<string, Conn>();
  /** Presence rows to write at the next flush: connects and disconnects. */
  let changes: { deviceId: string; holder: string; connected: boolean; changedAt: number; agentVersion?: string }[] = [];
  let points: Point[] = [];
  // Unknown until the first poll, which then offers every helloed agent its configuration (a no-op for
  // an agent that already runs it).
  let knownVersion = -1;
  let closing = false;
  let shed = 0;
  const messageCounters: MessageBudgetCounters = { throttled: 0, closed: 0, refusedCoolingDown: 0, droppedIdentical: 0 };
  let refusedDeviceHandshakes = 0;
  /** Devices closed for flooding, until when their upgrades are refused. */
  const coolingDown = new Map<string, number>();

  // A device moved to another site gets that site's tags and configuration from now on.
  const onMoved = ({ deviceId, to }: { deviceId: string; to: string }) => {
    const conn = conns.get(deviceId);
    if (!conn) return;
    void (async () => {
      const site = await deps.registry.getSite(to);
      if (!site || conns.get(deviceId) !== conn) return;
      conn.site = site;
      if (conn.helloed) await deliverConfig(conn);
    })().catch((err: unknown) => logger.error({ err, device: deviceId }, 'control: could not apply a device move'));
  };
  deps.registry.events.on('moved', onMoved);

  const send = (conn: Conn, message: CollectorMessage) => {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(message));
  };

  function presenceNow(conn: Conn, connected: boolean): void {
    const at = now();
    points.push(presencePoint(conn.deviceId, conn.site, { connected, lastSeenAt: conn.lastSeen, clockOffsetMs: conn.offsetMs, agentVersion: conn.agentVersion, revoked: false }, at, at));
  }

  // The configuration meant for each site, for the current newest version: a reconnect storm of 10 000
  // agents costs one query per site, not per agent. Emptied on a new version and at every flush (group edits).
  // The promise is cached, so agents of one site helloing together share one query.
  const wantedBySite = new Map<string, ReturnType<ControlStore['effectiveConfig']>>();
  async function deliverConfig(conn: Conn): Promise<void> {
    let pending = wantedBySite.get(conn.site.code);
    if (!pending) {
      pending = store.effectiveConfig(conn.site);
      wantedBySite.set(conn.site.code, pending);
      // A failed query is not remembered: the next delivery asks again.
      pending.catch(() => wantedBySite.delete(conn.site.code));
    }
    const wanted = await pending;
    if (!wanted || wanted.version === conn.configVersion) return;
    conn.configVersion = wanted.version;
    send(conn, { type: 'config', version: wanted.version, config: wanted.config });
    logger.info({ device: conn.deviceId, version: wanted.version, scope: wanted.scope }, 'configuration sent');
  }

  async function deliverCommands(): Promise<void> {
    for (const cmd of await store.pendingCommands()) {
      const conn = conns.get(cmd.deviceId);
      if (!conn?.helloed) continue;
      // Another process may hold a (stale) socket of the same device: only one of them moves it to sent.
      if (!(await store.markCommand(cmd.id, 'sent', undefined, 'pending'))) continue;
      send(conn, { type: 'command', id: cmd.id, command: cmd.command });
      logger.info({ device: conn.deviceId, command: cmd.id, kind: cmd.command.kind }, 'command sent');
    }
  }

  /** Past its budget a message is dropped unread; a connection that keeps sending is closed (1008) and cools down. */
  function withinBudget(conn: Conn): boolean {
    // Closing for flooding: nothing more from it is read, whatever the bucket refilled meanwhile.
    const verdict = conn.closedForFlooding ? 'drop' : conn.budget.take();
    if (verdict === 'ok') return true;
    messageCounters.throttled++;
    if (verdict === 'close' && !conn.closedForFlooding) {
      conn.closedForFlooding = true;
      messageCounters.closed++;
      coolingDown.set(conn.deviceId, now() + opts.floodCooldownSeconds * 1000);
      logger.warn({ device: conn.deviceId, throttled: opts.messageBurst }, 'control: connection closed for flooding');
      conn.ws.close(CLOSE_FLOODING, conn.budget.closeReason());
      setTimeout(() => conn.ws.terminate(), 1_000).unref();
    }
    return false;
  }

  async function onMessage(conn: Conn, data: Buffer, isBinary: boolean): Promise<void> {
    const t1 = now();
    conn.lastSeen = t1;
    conn.dirty = true;
    const text = isBinary ? undefined : data.toString('utf8');
    // The same state again changes nothing: no parse, no write, no answer.
    if (text !== undefined && text === conn.lastStateText) {
      messageCounters.droppedIdentical++;
      return;
    }
    const parsed = text === undefined ? ({ ok: false, error: 'binary frames are not part of the protocol; send JSON text' } as const) : parseControlMessage(AgentMessage, text);
    if (!parsed.ok) {
      send(conn, { type: 'error', code: 'bad_message', message: parsed.error });
      return;
    }
    const msg = parsed.message;
    if (msg.type !== 'heartbeat') conn.lastStateText = text;
    switch (msg.type) {
      case 'heartbeat':
        if (msg.offsetMs !== undefined) conn.offsetMs = msg.offsetMs;
        send(conn, { type: 'heartbeat_ack', seq: msg.seq, t0: msg.t0, t1, t2: now() });
        return;
      case 'hello':
        if (msg.v !== CONTROL_PROTOCOL_VERSION) {
          send(conn, { type: 'error', code: 'unsupported_version', message: `this collector speaks control protocol ${CONTROL_PROTOCOL_VERSION}, not ${msg.v}` });
          conn.ws.close(CLOSE_PROTOCOL, 'unsupported protocol version');
          return;
        }
        conn.helloed = true;
        conn.agentVersion = msg.agentVersion;
        conn.configVersion = msg.configVersion;
        changes.push({ deviceId: conn.deviceId, holder, connected: true, changedAt: t1, agentVersion: msg.agentVersion });
        presenceNow(conn, true);
        // Commands waiting for this device go out with the next poll (within pollMs): one query a second, not one per hello.
        await deliverConfig(conn);
        return;
      case 'config_result':
        await store.setConfigState(conn.deviceId, msg.version, msg.status, msg.reason);
        if (msg.status === 'applied') conn.configVersion = msg.version;
        logger[msg.status === 'applied' ? 'info' : 'warn']({ device: conn.deviceId, version: msg.version, reason: msg.reason }, `configuration ${msg.status}`);
        return;
      case 'command_result':
        // A device answers only for its own commands.
        if ((await store.getCommand(msg.id))?.deviceId !== conn.deviceId) {
          send(conn, { type: 'error', code: 'bad_message', message: `no command ${msg.id} was sent to this device` });
          return;
        }
        await store.markCommand(msg.id, msg.status, msg.detail);
        logger.info({ device: conn.deviceId, command: msg.id, status: msg.status, detail: msg.detail }, 'command answered');
        return;
    }
  }

  function onConnection(ws: WebSocket, deviceId: string, site: Site): void {
    const old = conns.get(deviceId);
    if (old) old.ws.close(CLOSE_REPLACED, 'replaced by a newer connection of the same device');
    const conn: Conn = { ws, deviceId, site, helloed: false, lastSeen: now(), configVersion: 0, dirty: true, budget: new ConnectionBudget(opts, now) };
    conns.set(deviceId, conn);
    ws.on('message', (data: Buffer, isBinary) => {
      if (!withinBudget(conn)) return;
      onMessage(conn, data, isBinary).catch((err: unknown) => {
        // A bug or a database error on one message must not take the process (and 10 000 sockets) down.
        logger.error({ err, device: deviceId }, 'control message failed');
        // Not handled: the same message sent again must be handled, not dropped as a repeat.
        conn.lastStateText = undefined;
        send(conn, { type: 'error', code: 'internal', message: 'the collector could not handle this message; see its log' });
      });
    });
    ws.on('close', () => {
      if (conns.get(deviceId) !== conn) return;
      conns.delete(deviceId);
      if (!conn.helloed || closing) return;
      changes.push({ deviceId, holder, connected: false, changedAt: now() });
      presenceNow(conn, false);
    });
    send(conn, { type: 'welcome', v: CONTROL_PROTOCOL_VERSION, deviceId, site: site.code, heartbeatSeconds: opts.heartbeatSeconds });
  }

  /**
   * Writes connects, disconnects, changed offsets and last-seen times to the store, in transactions of
   * FLUSH_CHUNK devices with a turn of the event loop between them (10 000 devices in one transaction
   * would hold heartbeats up for most of a second), then queued presence points to InfluxDB.
   */
  async function flush(): Promise<void> {
    wantedBySite.clear();
    const at = now();
    // This process is alive: its devices' rows count as connected in the sweep until this lapses.
    await store.tryLease(`holder:${holder}`, holder, holderTtlMs);
    const rows: PresenceWrite[] = changes;
    changes = [];
    const dirty: Conn[] = [];
    for (const conn of conns.values()) {
      if (!conn.helloed) continue;
      if (conn.offsetMs !== undefined && conn.offsetMs !== conn.storedOffsetMs) {
        rows.push({ deviceId: conn.deviceId, holder, connected: true, clockOffsetMs: conn.offsetMs });
        conn.storedOffsetMs = conn.offsetMs;
      }
      if (conn.dirty) dirty.push(conn);
      conn.dirty = false;
    }
    for (let i = 0; i < Math.max(rows.length, dirty.length); i += FLUSH_CHUNK) {
      await deps.registry.transaction(async (registry) => {
        for (const row of rows.slice(i, i + FLUSH_CHUNK)) await upsertPresence(registry.store, row, at);
        // touchDevice writes a device at most once a minute; the rest cost a map lookup.
        for (const conn of dirty.slice(i, i + FLUSH_CHUNK)) await registry.touchDevice(conn.deviceId, conn.lastSeen, conn.agentVersion);
      });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // Sockets that stopped talking (a peer gone without a FIN) are cut after three missed heartbeats.
    for (const conn of conns.values()) if (at - conn.lastSeen > opts.heartbeatSeconds * 3000) conn.ws.terminate();
    await flushPoints();
  }

  async function flushPoints(): Promise<void> {
    const batch = points;
    points = [];
    if (batch.length === 0) return;
    try {
      await writeChunked(deps.writer, batch);
    } catch (err) {
      // Presence is a sample, not a delivery: the next sweep writes the state again.
      logger.warn({ err: (err as Error).message, points: batch.length }, 'could not write presence points');
    }
  }

  async function poll(): Promise<void> {
    const latest = await store.latestVersion();
    if (latest !== knownVersion) {
      knownVersion = latest;
      wantedBySite.clear();
      for (const conn of conns.values()) if (conn.helloed) await deliverConfig(conn);
    }
    await deliverCommands();
  }

  /** One poll at a time; a request while one runs (a notification, the timer) runs once more after it. */
  let polling: Promise<void> | undefined;
  let pollAgain = false;
  function pollSoon(): Promise<void> {
    if (polling) {
      pollAgain = true;
      return polling;
    }
    polling = (async () => {
      try {
        do {
          pollAgain = false;
          await poll();
        } while (pollAgain && !closing);
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  }

  async function sweep(): Promise<void> {
    if (!(await store.tryLease('presence-sweep', holder, opts.sweepMs * 1.5))) return;
    const local = new Map([...conns.values()].map((c) => [c.deviceId, c.lastSeen]));
    const n = await sweepPresence({ registry: deps.registry, store, writer: deps.writer, logger, now: now(), local });
    logger.debug({ points: n }, 'presence sweep written');
  }

  const guarded = (name: string, fn: () => unknown) => () => {
    Promise.resolve()
      .then(fn)
      .catch((err: unknown) => logger.error({ err }, `control ${name} failed`));
  };
  const timers = [
    setInterval(guarded('flush', flush), opts.flushMs),
    setInterval(guarded('poll', pollSoon), opts.pollMs),
    setInterval(guarded('sweep', sweep), opts.sweepMs),
    setInterval(guarded('points', flushPoints), 1_000),
  ];
  for (const t of timers) t.unref();
  // A configuration pushed or a command queued on another collector (PostgreSQL NOTIFY): deliver now
  // rather than at the next poll.
  const unlisten = deps.registry.store.listen(CONTROL_CHANNEL, guarded('poll', pollSoon));

  return {
    store,
    holder,
    /** Serves the upgrade when it is for CONTROL_PATH; false otherwise (another handler's turn). */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      const path = (req.url ?? '').split('?')[0];
      if (path !== CONTROL_PATH) return false;
      const retry = (base: number) => ({ 'retry-after': String(base + Math.floor(Math.random() * Math.max(5, base * 2))) });
      if (closing) {
        refuseUpgrade(socket, 503, 'busy', 'the collector is restarting; reconnect later', { headers: retry(5) });
        return true;
      }
      // Authentication first (issue 14, case 6): the shared admission budget is charged only for devices, so
      // a flood of upgrades without a valid token cannot spend it; failures are limited per client address.
      void (async () => {
        let auth;
        try {
          auth = await authenticateUpgrade(deps.registry, req);
        } catch {
          refuseUpgrade(socket, 503, 'busy', 'the collector cannot reach its database right now; reconnect later', { headers: retry(10) });
          return;
        }
        if (!auth) {
          const address = upgradeAddress(req, deps.trustProxy ?? false);
          const failed = failedUpgrades.take(address);
          if (!failed.ok) {
            refuseUpgrade(socket, 429, 'rate_limited', `too many failed control-channel handshakes from this address; retry in ${failed.retryAfterS} s`, { headers: { 'retry-after': String(failed.retryAfterS) } });
            return;
          }
          refuseUpgrade(socket, 401, 'unauthorized', 'device token missing, not recognised or revoked; send "Authorization: Bearer <device token>"');
          return;
        }
        // A device closed for flooding waits out its cool-down without spending the shared budget.
        const until = coolingDown.get(auth.device.id);
        if (until !== undefined) {
          if (until > now()) {
            messageCounters.refusedCoolingDown++;
            const s = Math.ceil((until - now()) / 1000);
            refuseUpgrade(socket, 429, 'rate_limited', `this device was closed for flooding the control channel; reconnect in ${s} s`, { headers: { 'retry-after': String(s) } });
            return;
          }
          coolingDown.delete(auth.device.id);
        }
        // One device reconnecting in a loop (a valid token) is stopped by its own budget, not the shared one.
        const mine = deviceHandshakes.take(auth.device.id);
        if (!mine.ok) {
          refusedDeviceHandshakes++;
          refuseUpgrade(socket, 429, 'rate_limited', `this device reconnects too often (more than ${opts.deviceHandshakeBurst} at once or ${opts.deviceHandshakesPerMinute} a minute); reconnect in ${mine.retryAfterS} s`, { headers: { 'retry-after': String(mine.retryAfterS) } });
          return;
        }
        const token = handshakes.take('handshake');
        if (!token.ok || conns.size >= opts.maxConnections) {
          shed++;
          // Retry-After is spread so the shed agents do not come back together.
          refuseUpgrade(socket, 503, 'busy', 'too many control-channel handshakes right now; reconnect after Retry-After', { headers: retry(Math.max(1, token.retryAfterS)) });
          return;
        }
        await acceptDeviceUpgrade({ wss, registry: deps.registry, guard, req, socket, head, authenticated: auth }, (ws, a) => onConnection(ws, a.device.id, a.site));
      })().catch((err: unknown) => {
        logger.error({ err }, 'control: upgrade failed');
        socket.destroy();
      });
      return true;
    },
    stats: () => ({
      connections: conns.size,
      shed,
      refusedDeviceHandshakes,
      messageBudget: { messagesPerSecond: opts.messagesPerSecond, messageBurst: opts.messageBurst, floodCooldownSeconds: opts.floodCooldownSeconds, ...messageCounters },
    }),
    /** Runs the periodic jobs now (tests, and before a shutdown). */
    flush,
    poll: pollSoon,
    sweep,
    /**
     * Graceful shutdown: every agent is told to come back after a delay spread over the time the
     * handshake budget needs to readmit them all, then its socket is closed (1012, service restart).
     */
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      for (const t of timers) clearInterval(t);
      unlisten();
      const spreadMs = Math.min(600_000, Math.max(5_000, (conns.size / opts.handshakesPerSecond) * 1500));
      for (const conn of conns.values()) {
        send(conn, { type: 'reconnect', afterMs: 1000 + Math.floor(Math.random() * spreadMs), reason: 'collector restarting' });
        conn.ws.close(1012, 'collector restarting');
      }
      try {
        await polling;
        await flush();
        await store.releaseHolder(holder);
        await store.tryLease(`holder:${holder}`, holder, 0);
      } catch (err) {
        logger.warn({ err }, 'could not record presence at shutdown');
      }
      guard.close();
      deps.registry.events.off('moved', onMoved);
      for (const conn of conns.values()) conn.ws.terminate();
      wss.close();
    },
  };
}
