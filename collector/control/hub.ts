// The collector's end of the control channel (docs/control-channel.md): accepts agents' WebSockets at
// CONTROL_PATH (device token, admission control, message budget), speaks the protocol (heartbeats answered
// with timestamps for the clock estimate, hello, results), runs the channel's timers and shuts it down.
// Presence is presence-tracker.ts, what is sent to agents (configurations, commands) delivery.ts. State
// that other processes need (presence, config states, commands) lives in the collector's store (store.ts:
// SQLite, or PostgreSQL shared by several collectors); everything per socket stays in memory.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import {
  AgentMessage, CLOSE_PROTOCOL, CLOSE_REPLACED, CONTROL_MAX_MESSAGE_BYTES, CONTROL_PATH, CONTROL_PROTOCOL_VERSION, parseControlMessage,
} from '../../protocol/control.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import { periodic } from '../periodic.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import type { Registry } from '../registry/registry.ts';
import type { Site } from '../registry/site.ts';
import { acceptDeviceUpgrade, authenticateUpgrade, refuseUpgrade, RevocationGuard, upgradeAddress } from '../auth/ws-upgrade.ts';
import { CLOSE_FLOODING, ConnectionBudget, DEFAULT_MESSAGE_BUDGET, type MessageBudgetCounters, type MessageBudgetOptions } from './message-budget.ts';
import { type Conn, send } from './connection.ts';
import { Delivery } from './delivery.ts';
import { PresenceTracker } from './presence-tracker.ts';
import { CONTROL_CHANNEL, ControlStore } from './store.ts';

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

export type ControlHub = ReturnType<typeof createControlHub>;

export function createControlHub(deps: ControlDeps) {
  const now = deps.now ?? Date.now;
  const opts: ControlOptions = { ...DEFAULT_CONTROL_OPTIONS, ...deps.options };
  const logger = deps.logger.child({ component: 'control' });
  const store = new ControlStore(deps.registry.store, now);
  const holder = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const wss = new WebSocketServer({ noServer: true, maxPayload: CONTROL_MAX_MESSAGE_BYTES, perMessageDeflate: false });
  const guard = new RevocationGuard(deps.registry);
  const handshakes = new RateLimiter({ burst: opts.handshakeBurst, perSecond: opts.handshakesPerSecond }, now);
  const failedUpgrades = new RateLimiter({ burst: opts.failedUpgradeBurst, perSecond: opts.failedUpgradesPerSecond }, now);
  const deviceHandshakes = new RateLimiter({ burst: opts.deviceHandshakeBurst, perSecond: opts.deviceHandshakesPerMinute / 60 }, now);
  const conns = new Map<string, Conn>();
  // Presence (presence-tracker.ts) and what is sent to agents (delivery.ts) are their own parts; the hub
  // admits connections, speaks the protocol and runs their timers.
  const presence = new PresenceTracker({ registry: deps.registry, store, writer: deps.writer, logger, now, holder, conns }, opts);
  const delivery = new Delivery(store, conns, logger);
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
      if (conn.helloed) await delivery.deliverConfig(conn);
    })().catch((err: unknown) => logger.error({ err, device: deviceId }, 'control: could not apply a device move'));
  };
  deps.registry.events.on('moved', onMoved);

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
        presence.changed(conn, true);
        // Commands waiting for this device go out with the next poll (within pollMs): one query a second, not one per hello.
        await delivery.deliverConfig(conn);
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
      presence.changed(conn, false);
    });
    send(conn, { type: 'welcome', v: CONTROL_PROTOCOL_VERSION, deviceId, site: site.code, heartbeatSeconds: opts.heartbeatSeconds });
  }

  /** The flush: configurations cached per site are forgotten (group edits), presence is written. */
  const flush = async () => {
    delivery.forgetConfigs();
    await presence.flush();
  };
  const pollSoon = () => delivery.pollSoon();
  const sweep = () => presence.sweep();
  // Logged and counted in /healthz (`control.*`, collector/periodic.ts). The presence sweep runs in one
  // process of those sharing the store: the holder of the `presence-sweep` lease.
  const timerOpts = { logger };
  const timers = [
    periodic('control.flush', opts.flushMs, flush, timerOpts),
    periodic('control.poll', opts.pollMs, pollSoon, timerOpts),
    periodic('control.presence-sweep', opts.sweepMs, sweep, { ...timerOpts, lease: { store: deps.registry.store, name: 'presence-sweep', holder, ttlMs: opts.sweepMs * 1.5, now } }),
    periodic('control.points', 1_000, () => presence.flushPoints(), timerOpts),
  ];
  // A configuration pushed or a command queued on another collector (PostgreSQL NOTIFY): deliver now
  // rather than at the next poll.
  const unlisten = deps.registry.store.listen(CONTROL_CHANNEL, () => {
    pollSoon().catch((err: unknown) => logger.warn({ err }, 'control.poll failed'));
  });

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
    /** Runs the periodic jobs now (tests, and before a shutdown); `sweep` without the lease. */
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
      // Not awaited yet: agents are told to come back before an in-flight flush or poll ends.
      const timersStopped = Promise.all(timers.map((t) => t.stop()));
      unlisten();
      const spreadMs = Math.min(600_000, Math.max(5_000, (conns.size / opts.handshakesPerSecond) * 1500));
      for (const conn of conns.values()) {
        send(conn, { type: 'reconnect', afterMs: 1000 + Math.floor(Math.random() * spreadMs), reason: 'collector restarting' });
        conn.ws.close(1012, 'collector restarting');
      }
      try {
        await timersStopped;
        await delivery.close();
        await flush();
        await presence.release();
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
