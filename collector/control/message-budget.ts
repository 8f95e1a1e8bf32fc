// What one control-channel connection may send (issue 14, case 8). Every message costs the collector
// something (a parse; a state message a store write), so each connection has a token bucket: past it,
// messages are dropped unread, and a connection that keeps sending while throttled is closed with a reason
// the agent logs. A state message identical to the connection's last one changes nothing and is dropped
// before it is parsed. docs/control-channel.md "Message budget".

export interface MessageBudgetOptions {
  /** Messages one connection may send per second, after the burst. */
  messagesPerSecond: number;
  /** Messages one connection may send at once; also how many it may send while throttled before it is closed. */
  messageBurst: number;
  /** How long a device closed for flooding is refused at the upgrade (429), so reconnecting does not start it again. */
  floodCooldownSeconds: number;
}

export const DEFAULT_MESSAGE_BUDGET: MessageBudgetOptions = {
  // An agent sends a heartbeat every 30 s and a result per configuration or command: a few an hour.
  messagesPerSecond: 5,
  messageBurst: 50,
  floodCooldownSeconds: 60,
};

/** The close code and reason of a connection closed for flooding (1008: policy violation). */
export const CLOSE_FLOODING = 1008;

/** This process's figures for /healthz. */
export interface MessageBudgetCounters {
  /** Messages dropped unread because their connection was over its budget. */
  throttled: number;
  /** Connections closed for sending while throttled. */
  closed: number;
  /** Upgrades refused because the device was closed for flooding less than floodCooldownSeconds ago. */
  refusedCoolingDown: number;
  /** State messages identical to the connection's previous one, dropped without a write. */
  droppedIdentical: number;
}

/** One connection's bucket. `take()` says whether to handle a message, drop it, or close the connection. */
export class ConnectionBudget {
  private tokens: number;
  private at: number;
  private dropped = 0;

  constructor(
    private readonly options: MessageBudgetOptions,
    private readonly now: () => number,
  ) {
    this.tokens = options.messageBurst;
    this.at = now();
  }

  take(): 'ok' | 'drop' | 'close' {
    const t = this.now();
    this.tokens = Math.min(this.options.messageBurst, this.tokens + (Math.max(0, t - this.at) / 1000) * this.options.messagesPerSecond);
    this.at = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'ok';
    }
    this.dropped++;
    return this.dropped > this.options.messageBurst ? 'close' : 'drop';
  }

  /** The reason sent with the close frame (at most 123 bytes). */
  closeReason(): string {
    return `control message budget exceeded: ${this.options.messagesPerSecond}/s, burst ${this.options.messageBurst}`;
  }
}
