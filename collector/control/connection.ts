// One agent's control-channel connection as this process holds it: the socket, what the agent said of
// itself, and what is still to be written (presence) or sent (configuration).
import type { WebSocket } from 'ws';
import type { CollectorMessage } from '../../protocol/control.ts';
import type { Site } from '../registry/site.ts';
import type { ConnectionBudget } from './message-budget.ts';

export interface Conn {
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
  /** The offset last written to the store. */
  storedOffsetMs?: number;
  /** What this connection may still send (message-budget.ts). */
  budget: ConnectionBudget;
  /** The text of the last state message handled (hello, config_result, command_result): a repeat is dropped. */
  lastStateText?: string;
  closedForFlooding?: boolean;
}

export function send(conn: Conn, message: CollectorMessage): void {
  if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(message));
}
