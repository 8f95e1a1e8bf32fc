// Device authentication for WebSocket endpoints (ndt7, the control channel): check the device token at
// the upgrade, refuse with the usual JSON error body, cap message sizes, and close an open socket at once
// (code 4401) when its device is revoked, whichever process revoked it.
//
//   const guard = new RevocationGuard(registry);              // one per WebSocket server
//   const stop = registry.watchChanges();                      // once per process: sees the CLI's and other workers' revocations
//   server.on('upgrade', (req, socket, head) => {
//     const auth = await authenticateUpgrade(registry, req);
//     if (!auth) return refuseUpgrade(socket, 401, 'unauthorized', 'device token not recognised or revoked');
//     wss.handleUpgrade(req, socket, head, (ws) => { guard.watch(ws, auth.device.id); ... });
//   });
//
// or, in one call: acceptDeviceUpgrade({ wss, registry, guard, req, socket, head }, (ws, auth) => { ... }).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ErrorBody, ErrorCode } from '../../protocol/api.ts';
import { bearerToken, DEVICE_CHALLENGE } from './bearer.ts';
import type { AuthenticatedDevice, Registry } from '../registry/registry.ts';

/** Close code sent to a socket whose device was revoked (4000-4999: application codes; 4401 reads as "401"). */
export const WS_CLOSE_REVOKED = 4401;
/** A sensible `maxPayload` for control messages; a bigger message closes the socket with 1009. */
export const WS_MAX_MESSAGE_BYTES = 1024 * 1024;
/** How long a revoked peer gets to answer the close frame before its connection is cut. */
const CLOSE_GRACE_MS = 1000;

/**
 * The device (and its site) of an upgrade request from its `Authorization: Bearer <device token>`
 * header, or null. Checked against the registry on every call, never cached. Tokens in query strings
 * are not read here: proxies log URLs.
 */
export async function authenticateUpgrade(registry: Pick<Registry, 'authenticateDevice'>, req: IncomingMessage): Promise<AuthenticatedDevice | null> {
  const token = bearerToken(req.headers.authorization);
  return token === undefined ? null : registry.authenticateDevice(token);
}

/** The address an upgrade came from: with `trustProxy`, the last X-Forwarded-For entry (as client-address.ts). */
export function upgradeAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',').at(-1)?.trim();
    if (last) return last.slice(0, 64);
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * Answers an upgrade request with an HTTP error (the collector's usual JSON body, with a request id) and
 * closes the socket. For 401 it adds the same `WWW-Authenticate` challenge as the HTTP API.
 */
export function refuseUpgrade(
  socket: Duplex,
  status: 400 | 401 | 403 | 404 | 429 | 503,
  code: ErrorCode,
  message: string,
  opts: { requestId?: string; headers?: Record<string, string> } = {},
): void {
  const requestId = opts.requestId ?? randomUUID();
  const body = JSON.stringify({ error: { code, message, requestId } } satisfies ErrorBody);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
    'cache-control': 'no-store',
    connection: 'close',
    ...(status === 401 ? DEVICE_CHALLENGE : {}),
    ...opts.headers,
  };
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  if (socket.writable) socket.end(head + body);
  else socket.destroy();
}

/**
 * Closes WebSockets of revoked devices. One listener on the registry serves every socket it watches, so
 * thousands of open sockets cost one map lookup per revocation.
 */
export class RevocationGuard {
  private readonly sockets = new Map<string, Set<WebSocket>>();
  private readonly onRevoked = (deviceId: string) => {
    const set = this.sockets.get(deviceId);
    if (!set) return;
    this.sockets.delete(deviceId);
    for (const ws of set) closeRevoked(ws);
  };

  constructor(private readonly registry: Pick<Registry, 'events'>) {
    registry.events.on('revoked', this.onRevoked);
  }

  /** Watches `ws` for its device's revocation until it closes; the returned function stops watching earlier. */
  watch(ws: WebSocket, deviceId: string): () => void {
    let set = this.sockets.get(deviceId);
    if (!set) {
      set = new Set();
      this.sockets.set(deviceId, set);
    }
    set.add(ws);
    const unwatch = () => {
      const current = this.sockets.get(deviceId);
      current?.delete(ws);
      if (current?.size === 0) this.sockets.delete(deviceId);
    };
    ws.once('close', unwatch);
    return unwatch;
  }

  /** Sockets being watched. */
  get size(): number {
    let n = 0;
    for (const set of this.sockets.values()) n += set.size;
    return n;
  }

  /** Stops listening to the registry (the sockets stay open). */
  close(): void {
    this.registry.events.off('revoked', this.onRevoked);
    this.sockets.clear();
  }
}

export function closeRevoked(ws: WebSocket): void {
  ws.close(WS_CLOSE_REVOKED, 'device revoked');
  // A revoked peer that does not answer the close frame is cut off rather than left half-open.
  const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  timer.unref();
  ws.once('close', () => clearTimeout(timer));
}

/**
 * Authenticates an upgrade and, for a known device, completes it on `wss` (create it with
 * `noServer: true` and a `maxPayload`, e.g. WS_MAX_MESSAGE_BYTES) and watches the socket for revocation.
 * Otherwise answers 401 and closes the socket.
 */
export async function acceptDeviceUpgrade(
  opts: { wss: WebSocketServer; registry: Pick<Registry, 'authenticateDevice' | 'isDeviceActive'>; guard: RevocationGuard; req: IncomingMessage; socket: Duplex; head: Buffer; authenticated?: AuthenticatedDevice },
  onConnection: (ws: WebSocket, auth: AuthenticatedDevice) => void,
): Promise<void> {
  // A caller that authenticated first (to charge its admission budget to devices only) passes the device.
  let auth: AuthenticatedDevice | null = opts.authenticated ?? null;
  try {
    auth ??= await authenticateUpgrade(opts.registry, opts.req);
  } catch {
    // The store is unreachable (PostgreSQL restarting): the agent retries after Retry-After.
    refuseUpgrade(opts.socket, 503, 'busy', 'the collector cannot reach its database right now; reconnect later', { headers: { 'retry-after': '10' } });
    return;
  }
  if (!auth) {
    refuseUpgrade(opts.socket, 401, 'unauthorized', 'device token missing, not recognised or revoked; send "Authorization: Bearer <device token>"');
    return;
  }
  if (opts.socket.destroyed) return; // the client went away while we looked the token up
  const device = auth;
  opts.wss.handleUpgrade(opts.req, opts.socket, opts.head, (ws) => {
    // Protocol errors (a message over maxPayload, a bad frame) close the socket with 1009/1002; without a
    // listener they would be thrown as unhandled errors and bring the collector down.
    ws.on('error', () => {});
    opts.guard.watch(ws, device.device.id);
    onConnection(ws, device);
    // Revoked between the check and the handshake: the guard was not yet watching, so look again.
    opts.registry
      .isDeviceActive(device.device.id)
      .then((active) => active || closeRevoked(ws))
      .catch(() => ws.close(1011, 'database unavailable'));
  });
}
