// A minimal WebSocket client (RFC 6455) for the control channel, on node:http and node:crypto only.
// The `ws` package costs the resident agent about 10 MB (measured: a plain node process importing it grows
// from 39 to 53 MB), and the control channel is open all the time, so loading it lazily would not help.
// This client does only what the channel needs: one connection, text messages (fragmented or not),
// ping/pong, close, a payload cap; no extensions, no binary messages. The collector side uses `ws`.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { requestFor } from '../net/request-for.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface LiteSocketEvents {
  open: [];
  message: [string];
  /** A non-101 answer to the handshake (401, 503 with Retry-After, ...). */
  refused: [IncomingMessage];
  close: [number, string];
  error: [Error];
}

export interface LiteOptions {
  headers: Record<string, string>;
  maxPayload: number;
  handshakeTimeoutMs: number;
}

export class LiteSocket extends EventEmitter<LiteSocketEvents> {
  private socket: Duplex | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closed = false;
  private closeSent = false;
  open = false;

  constructor(url: URL, opts: LiteOptions) {
    super();
    void this.connect(url, opts).catch((err: Error) => this.fail(err));
  }

  private async connect(url: URL, opts: LiteOptions): Promise<void> {
    const key = randomBytes(16).toString('base64');
    const httpUrl = new URL(url);
    httpUrl.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
    const request = await requestFor(httpUrl);
    const req = request(httpUrl, {
      headers: { ...opts.headers, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' },
      timeout: opts.handshakeTimeoutMs,
    });
    req.on('timeout', () => req.destroy(new Error('WebSocket handshake timed out')));
    req.on('error', (err) => this.fail(err));
    req.on('response', (res) => {
      this.emit('refused', res);
      res.resume();
      this.finish(1006, `handshake refused: ${res.statusCode}`);
    });
    req.on('upgrade', (res, socket, head) => {
      const expected = createHash('sha1').update(key + GUID).digest('base64');
      if (res.headers['sec-websocket-accept'] !== expected) {
        socket.destroy();
        return this.fail(new Error('WebSocket handshake: wrong Sec-WebSocket-Accept'));
      }
      this.socket = socket;
      this.open = true;
      socket.on('data', (chunk: Buffer) => this.onData(chunk, opts.maxPayload));
      socket.on('error', (err) => this.fail(err));
      socket.on('close', () => this.finish(1006, 'connection lost'));
      this.emit('open');
      if (head.length > 0) this.onData(head, opts.maxPayload);
    });
    req.end();
  }

  send(text: string): void {
    if (this.open && !this.closeSent) this.frame(0x1, Buffer.from(text, 'utf8'));
  }

  close(code = 1000, reason = ''): void {
    if (!this.open) return this.finish(code, reason);
    if (this.closeSent) return;
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.frame(0x8, payload);
    this.closeSent = true;
    // The peer answers with its close frame and ends the connection; one that does not is cut.
    setTimeout(() => this.socket?.destroy(), 2000).unref();
  }

  private frame(opcode: number, payload: Buffer): void {
    const mask = randomBytes(4);
    const len = payload.length;
    const header = Buffer.alloc(len < 126 ? 6 : len < 65536 ? 8 : 14);
    header[0] = 0x80 | opcode;
    if (len < 126) header[1] = 0x80 | len;
    else if (len < 65536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(len, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    mask.copy(header, header.length - 4);
    const masked = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    this.socket?.write(Buffer.concat([header, masked]));
  }

  private onData(chunk: Buffer, maxPayload: number): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    // Bounded by the buffer: every pass consumes one whole frame or stops.
    while (this.buffer.length >= 2 && !this.closed) {
      const b0 = this.buffer[0]!;
      const b1 = this.buffer[1]!;
      let len = b1 & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        const big = this.buffer.readBigUInt64BE(2);
        len = big > BigInt(maxPayload) ? maxPayload + 1 : Number(big);
        offset = 10;
      }
      if (b1 & 0x80) return this.protocolError(1002, 'server frames must not be masked');
      const fragmented = this.fragments.reduce((s, f) => s + f.length, 0);
      if (len + fragmented > maxPayload) return this.protocolError(1009, 'message too big');
      if (this.buffer.length < offset + len) return;
      const payload = this.buffer.subarray(offset, offset + len);
      this.buffer = this.buffer.subarray(offset + len);
      this.onFrame(b0 & 0x80 ? true : false, b0 & 0x0f, payload);
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x0: // continuation
      case 0x1: // text
        this.fragments.push(Buffer.from(payload));
        if (fin) {
          const text = Buffer.concat(this.fragments).toString('utf8');
          this.fragments = [];
          this.emit('message', text);
        }
        return;
      case 0x8: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.subarray(2).toString('utf8');
        if (!this.closeSent) this.close(code === 1005 ? 1000 : code, '');
        this.socket?.end();
        return this.finish(code, reason);
      }
      case 0x9:
        return this.frame(0xa, payload);
      case 0xa:
        return;
      default:
        return this.protocolError(1003, 'binary or unknown frames are not part of the control protocol');
    }
  }

  private protocolError(code: number, reason: string): void {
    this.close(code, reason);
    this.finish(code, reason);
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.emit('error', err);
    this.finish(1006, err.message);
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.emit('close', code, reason);
  }

  terminate(): void {
    this.socket?.destroy();
    this.finish(1006, 'terminated');
  }
}
