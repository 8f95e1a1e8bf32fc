// The agent's end of the control channel (docs/control-channel.md): one WebSocket to the collector,
// heartbeats that double as clock exchanges, and configurations and commands handed to the supervisor.
// It reconnects forever with exponential backoff and full jitter (a random delay between 0 and the
// current cap), so a fleet cut off together does not come back together; the collector's 503
// Retry-After and its "reconnect later" hint before a restart set a floor on the delay. The socket is
// ws-lite.ts (not the ws package: 10 MB of resident memory in an agent that should stay near 60 MB).
import type { Logger } from 'pino';
import { backoffDelay } from '../../protocol/backoff.ts';
import {
  CollectorMessage, CONTROL_MAX_MESSAGE_BYTES, CONTROL_PATH, CONTROL_PROTOCOL_VERSION, type AgentMessage, type CommandPush, type ConfigPush, parseControlMessage,
} from '../../protocol/control.ts';
import type { z } from 'zod';
import type { AgentClock } from './clock.ts';
import { LiteSocket } from './ws-lite.ts';

export interface ControlClientOptions {
  collectorUrl: string;
  token: string;
  agentVersion: string;
  clock: AgentClock;
  logger: Logger;
  /** The configuration version running now (0: the local file). */
  configVersion(): number;
  onConfig(push: z.infer<typeof ConfigPush>): Promise<{ status: 'applied' | 'rejected'; reason?: string }>;
  onCommand(push: z.infer<typeof CommandPush>): Promise<{ status: 'done' | 'failed'; detail?: string }>;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
}

/** Heartbeats right after connecting, a second apart, so the first clock estimate has several samples. */
const QUICK_HEARTBEATS = 4;
/** A connection that lasted this long resets the backoff. */
const STABLE_MS = 60_000;

type Outcome = { kind: 'closed'; code: number; reason: string; openedFor: number } | { kind: 'refused'; status: number; retryAfterMs?: number } | { kind: 'error'; message: string };

export class ControlClient {
  private ws: LiteSocket | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private seq = 0;
  private heartbeatMs = 30_000;
  private timers: NodeJS.Timeout[] = [];
  private hintMs: number | undefined;
  private loop: Promise<void> | undefined;
  readonly stats = { attempts: 0, connects: 0, refused: 0, lastDelayMs: 0 };

  constructor(private readonly opts: ControlClientOptions) {}

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => this.opts.logger.error({ err }, 'control channel stopped'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    this.ws?.close(1000, 'agent stopping');
    this.wake?.();
    await this.loop;
  }

  /** Sends a heartbeat now (after the device clock jumped, to measure the offset again). */
  heartbeatNow(): void {
    this.sendHeartbeat();
  }

  private async run(): Promise<void> {
    const initial = this.opts.backoffInitialMs ?? 1_000;
    const max = this.opts.backoffMaxMs ?? 300_000;
    const random = this.opts.random ?? Math.random;
    let attempt = 0;
    while (!this.stopped) {
      this.stats.attempts++;
      const outcome = await this.connectOnce();
      if (this.stopped) break;
      if (outcome.kind === 'closed' && outcome.openedFor >= STABLE_MS) attempt = 0;
      let delay = backoffDelay(attempt++, { initialMs: initial, maxMs: max, jitter: 'full' }, random);
      if (outcome.kind === 'refused') {
        this.stats.refused++;
        // A revoked or unknown token will not start working by itself: wait the longest.
        if (outcome.status === 401 || outcome.status === 403) delay = max;
        if (outcome.retryAfterMs !== undefined) delay = Math.max(delay, outcome.retryAfterMs);
      }
      if (outcome.kind === 'closed' && outcome.code === 4401) delay = max;
      if (this.hintMs !== undefined) {
        delay = Math.max(delay, this.hintMs);
        this.hintMs = undefined;
      }
      this.stats.lastDelayMs = delay;
      this.opts.logger.info({ outcome, delayMs: delay }, 'control channel down; reconnecting later');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      this.wake = undefined;
    }
  }

  private async connectOnce(): Promise<Outcome> {
    const url = new URL(CONTROL_PATH, this.opts.collectorUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return new Promise<Outcome>((resolve) => {
      let openedAt = 0;
      let settled = false;
      const finish = (o: Outcome) => {
        if (settled) return;
        settled = true;
        this.clearTimers();
        this.ws = undefined;
        resolve(o);
      };
      const ws = new LiteSocket(url, {
        headers: { authorization: `Bearer ${this.opts.token}`, 'user-agent': `songcheck-agent/${this.opts.agentVersion}` },
        maxPayload: CONTROL_MAX_MESSAGE_BYTES,
        handshakeTimeoutMs: 15_000,
      });
      this.ws = ws;
      ws.on('refused', (res) => {
        const retryAfter = Number(res.headers['retry-after']);
        finish({ kind: 'refused', status: res.statusCode ?? 0, ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}) });
      });
      ws.on('open', () => {
        openedAt = Date.now();
        this.stats.connects++;
      });
      ws.on('message', (text) => void this.onMessage(ws, text));
      ws.on('error', (err) => finish({ kind: 'error', message: err.message }));
      ws.on('close', (code, reason) => finish({ kind: 'closed', code, reason, openedFor: openedAt ? Date.now() - openedAt : 0 }));
    });
  }

  private send(message: AgentMessage): void {
    this.ws?.send(JSON.stringify(message));
  }

  private sendHeartbeat(): void {
    const offsetMs = this.opts.clock.offsetMs;
    this.send({ type: 'heartbeat', seq: this.seq++, t0: this.opts.clock.deviceNow(), ...(offsetMs !== undefined ? { offsetMs: Math.round(offsetMs) } : {}) });
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  private async onMessage(ws: LiteSocket, text: string): Promise<void> {
    const parsed = parseControlMessage(CollectorMessage, text);
    if (!parsed.ok) {
      this.opts.logger.warn({ error: parsed.error }, 'collector sent a control message this agent does not understand; ignored');
      return;
    }
    const msg = parsed.message;
    switch (msg.type) {
      case 'welcome': {
        this.heartbeatMs = msg.heartbeatSeconds * 1000;
        this.send({ type: 'hello', v: CONTROL_PROTOCOL_VERSION, agentVersion: this.opts.agentVersion, configVersion: this.opts.configVersion() });
        this.opts.logger.info({ site: msg.site, heartbeatSeconds: msg.heartbeatSeconds }, 'control channel connected');
        for (let i = 0; i < QUICK_HEARTBEATS; i++) this.timers.push(setTimeout(() => this.sendHeartbeat(), i * 1000));
        const every = setInterval(() => this.sendHeartbeat(), this.heartbeatMs);
        this.timers.push(every);
        return;
      }
      case 'heartbeat_ack':
        this.opts.clock.addExchange(msg.t0, msg.t1, msg.t2, this.opts.clock.deviceNow());
        return;
      case 'config': {
        const answer = await this.opts.onConfig(msg);
        if (this.ws === ws) this.send({ type: 'config_result', version: msg.version, ...answer, ...(answer.reason ? { reason: answer.reason.slice(0, 500) } : {}) });
        return;
      }
      case 'command': {
        const answer = await this.opts.onCommand(msg);
        if (this.ws === ws) this.send({ type: 'command_result', id: msg.id, ...answer, ...(answer.detail ? { detail: answer.detail.slice(0, 500) } : {}) });
        return;
      }
      case 'reconnect':
        this.hintMs = msg.afterMs;
        this.opts.logger.info({ afterMs: msg.afterMs, reason: msg.reason }, 'collector asked to reconnect later');
        return;
      case 'error':
        this.opts.logger.warn({ code: msg.code }, `collector: ${msg.message}`);
        return;
    }
  }
}
