/**
 * A syslog receiver: UDP (RFC 5426, one message per datagram), TCP (RFC 6587: octet counting
 * `LEN SP MSG` or newline-terminated messages, told apart per connection from its first bytes) and
 * TLS (RFC 5425 framing over node:tls). Messages are bounded (`maxMessageBytes`, longer ones are cut
 * and marked `truncated`), connections are bounded (`maxConnections`), and a slow consumer slows
 * TCP senders down (the socket is paused while `onFrames` runs).
 *
 * Each message goes through the source's framing like a line of a file: `framerFor(peer)` gives the
 * framer for a connection (or a UDP sender), typically `new Framer({ ..., host: peer.address })` so
 * that the sender's address names lines whose header carries no host. (The framer is passed in:
 * sources do not import framing.)
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6, createServer as netServer, type Server, type Socket } from 'node:net';
import { createServer as tlsServer } from 'node:tls';
import type { FramedLine } from '../core/frame.js';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, type RawLine } from './lines.js';

export type SyslogProtocol = 'udp' | 'tcp' | 'tls';
export type SyslogFraming = 'auto' | 'octet-counting' | 'newline';

export interface SyslogPeer {
  /** Sender address (an IPv4-mapped IPv6 address is given as plain IPv4). */
  address: string;
  port: number;
  protocol: SyslogProtocol;
}

/** What the receiver needs of a framer (`Framer` from src/framing fits). */
export interface LineFramer {
  frame(line: { bytes: Buffer; offset: number; line: number }): FramedLine;
}

export type SyslogEvent =
  | { type: 'listening'; source: string; address: string; port: number; protocol: SyslogProtocol }
  | { type: 'connected'; source: string; peer: SyslogPeer }
  /** A connection ended; `framing` is what was detected for it. */
  | {
      type: 'disconnected';
      source: string;
      peer: SyslogPeer;
      messages: number;
      framing: 'octet-counting' | 'newline';
    }
  /** A connection was refused (too many) or failed its TLS handshake. */
  | { type: 'refused'; source: string; address: string; reason: string }
  /** UDP datagrams dropped because the consumer fell behind (`count` since the last report). */
  | { type: 'dropped'; source: string; count: number }
  | { type: 'error'; source: string; message: string; cause: unknown };

export interface SyslogReceiverOptions {
  /** Source name, for events. */
  name: string;
  /** Address to listen on (default `0.0.0.0`). */
  host?: string;
  /** Port (0: any free port; see `address()`). */
  port: number;
  protocol: SyslogProtocol;
  /** Certificate and key (PEM contents) for `tls`. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** TCP/TLS framing (default `auto`: detected per connection). */
  framing?: SyslogFraming;
  /** Longest message kept (default 64 KiB); longer ones are cut and marked `truncated`. */
  maxMessageBytes?: number;
  /** Simultaneous TCP/TLS connections (default 256); more are refused. */
  maxConnections?: number;
  /** UDP datagrams waiting for the consumer at most (default 10000); more are dropped and counted. */
  maxQueuedDatagrams?: number;
  /** The framer for a connection or a UDP sender. */
  framerFor(peer: SyslogPeer): LineFramer;
  /** Framed messages, in arrival order per connection. Awaited (TCP senders wait meanwhile). */
  onFrames(frames: FramedLine[], peer: SyslogPeer): void | Promise<void>;
  onEvent?(event: SyslogEvent): void;
}

function plainAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

const NL = 10;
const CR = 13;
const SP = 32;
const ZERO = 48;
const NINE = 57;
/** Longest accepted MSG-LEN: 10 digits. */
const MAX_LENGTH_DIGITS = 10;

function trimLineEnd(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === NL || bytes[end - 1] === CR || bytes[end - 1] === 0)) end--;
  return end === bytes.length ? bytes : bytes.subarray(0, end);
}

/**
 * Splits one TCP connection's bytes into messages. `auto` decides from the first bytes: a non-zero
 * digit run followed by a space is octet counting, anything else newline framing (and a connection
 * that breaks octet counting later goes on as newline framing, rather than losing the rest).
 * Offsets are byte offsets in the connection's stream; line numbers count its messages.
 */
export class StreamDeframer {
  mode: 'detect' | 'octet-counting' | 'newline';
  private readonly max: number;
  private newline: LineSplitter;
  /** Stream offset of the next chunk's first byte. */
  private base = 0;
  private messages = 0;
  /** Bytes seen while detecting, replayed once the mode is known. */
  private held: Buffer[] = [];
  // Octet counting: the MSG-LEN digits read so far, then the bytes of the message still to come.
  private digits = '';
  private remaining = -1;
  private parts: Buffer[] = [];
  private kept = 0;
  private declared = 0;
  private messageStart = 0;

  constructor(framing: SyslogFraming, maxMessageBytes: number) {
    this.max = maxMessageBytes;
    this.mode = framing === 'auto' ? 'detect' : framing;
    this.newline = new LineSplitter(maxMessageBytes);
  }

  /** Messages delivered so far. */
  get count(): number {
    return this.messages;
  }

  push(chunk: Buffer): RawLine[] {
    if (this.mode === 'detect') {
      this.held.push(chunk);
      const seen = Buffer.concat(this.held);
      const decided = detect(seen);
      if (decided === null) return [];
      this.mode = decided;
      this.held = [];
      chunk = seen;
    }
    if (this.mode === 'newline') return this.pushNewline(chunk);
    const out: RawLine[] = [];
    this.pushOctets(chunk, out);
    return out;
  }

  /** The connection ended: a last unterminated line, or a counted message cut short (truncated). */
  end(): RawLine[] {
    if (this.mode === 'detect') {
      this.mode = 'newline';
      const lines = this.pushNewline(Buffer.concat(this.held));
      this.held = [];
      return lines.concat(this.end());
    }
    if (this.mode === 'newline') {
      const last = this.newline.end(false);
      if (!last) return [];
      this.messages++;
      return [last];
    }
    return this.remaining > 0 && this.kept > 0 ? [this.emit(true)] : [];
  }

  private pushNewline(chunk: Buffer): RawLine[] {
    const lines = this.newline.push(chunk);
    this.messages += lines.length;
    this.base += chunk.length;
    return lines;
  }

  private pushOctets(chunk: Buffer, out: RawLine[]): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.remaining < 0) {
        const c = chunk[pos]!;
        if (
          c >= ZERO &&
          c <= NINE &&
          !(this.digits === '' && c === ZERO) &&
          this.digits.length < MAX_LENGTH_DIGITS
        ) {
          this.digits += String.fromCharCode(c);
          pos++;
        } else if (c === SP && this.digits !== '') {
          this.remaining = Number(this.digits);
          this.declared = this.remaining;
          this.digits = '';
          pos++;
          this.messageStart = this.base + pos;
        } else if ((c === NL || c === CR) && this.digits === '') {
          // Some senders end each counted message with a newline as well: tolerated between messages.
          pos++;
        } else {
          out.push(...this.fallBack(chunk, pos));
          return;
        }
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - pos);
      const keep = Math.min(take, this.max - this.kept);
      if (keep > 0) {
        this.parts.push(chunk.subarray(pos, pos + keep));
        this.kept += keep;
      }
      this.remaining -= take;
      pos += take;
      if (this.remaining === 0) out.push(this.emit(false));
    }
    this.base += chunk.length;
  }

  /** Not octet counting after all: the rest of the connection is newline-framed, from the odd byte on. */
  private fallBack(chunk: Buffer, pos: number): RawLine[] {
    const digits = Buffer.from(this.digits, 'latin1');
    const start = this.base + pos - digits.length;
    this.digits = '';
    this.mode = 'newline';
    this.newline = new LineSplitter(this.max, { offset: start, line: this.messages + 1 });
    const lines = this.newline.push(Buffer.concat([digits, chunk.subarray(pos)]));
    this.messages += lines.length;
    this.base += chunk.length;
    return lines;
  }

  private emit(cut: boolean): RawLine {
    const truncated = cut || this.declared > this.max;
    const whole = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.kept);
    this.parts = [];
    this.kept = 0;
    this.remaining = -1;
    this.messages++;
    return { bytes: trimLineEnd(whole), offset: this.messageStart, line: this.messages, truncated };
  }
}

/** Octet counting when the stream starts with `[1-9][0-9]* SP`, newline otherwise; null: not enough bytes yet. */
function detect(head: Buffer): 'octet-counting' | 'newline' | null {
  if (head.length === 0) return null;
  const first = head[0]!;
  if (first < ZERO + 1 || first > NINE) return 'newline';
  for (let i = 1; i < head.length && i <= MAX_LENGTH_DIGITS; i++) {
    const c = head[i]!;
    if (c === SP) return 'octet-counting';
    if (c < ZERO || c > NINE) return 'newline';
  }
  return head.length > MAX_LENGTH_DIGITS ? 'newline' : null;
}

/** A running receiver. Create with `startSyslogReceiver`. */
export class SyslogReceiver {
  private server: Server | null = null;
  private udp: UdpSocket | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly udpPeers = new Map<
    string,
    { peer: SyslogPeer; framer: LineFramer; offset: number; line: number }
  >();
  private udpQueue: { data: Buffer; info: RemoteInfo }[] = [];
  private udpDraining = false;
  private dropped = 0;
  private closed = false;
  private readonly max: number;

  constructor(private readonly opts: SyslogReceiverOptions) {
    this.max = opts.maxMessageBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** The address and port listened on (the port chosen when 0 was asked). */
  address(): { address: string; port: number } {
    const a = this.udp ? this.udp.address() : this.server?.address();
    if (!a || typeof a === 'string') throw new Error('not listening');
    return { address: a.address, port: a.port };
  }

  async listen(): Promise<void> {
    const host = this.opts.host ?? '0.0.0.0';
    if (this.opts.protocol === 'udp') await this.listenUdp(host);
    else await this.listenStream(host);
    const { address, port } = this.address();
    this.emit({ type: 'listening', source: this.opts.name, address, port, protocol: this.opts.protocol });
  }

  /** Stops listening and drops the connections. Calling it again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    const udp = this.udp;
    await Promise.all([
      server ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined,
      udp ? new Promise<void>((resolve) => udp.close(() => resolve())) : undefined,
    ]);
  }

  private emit(event: SyslogEvent): void {
    this.opts.onEvent?.(event);
  }

  private failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.emit({ type: 'error', source: this.opts.name, message, cause: error });
  }

  private listenStream(host: string): Promise<void> {
    const onConnection = (socket: Socket): void => this.accept(socket);
    let server: Server;
    if (this.opts.protocol === 'tls') {
      if (!this.opts.tls) throw new Error('tls needs a certificate and a key');
      const tls = tlsServer(
        { cert: this.opts.tls.cert, key: this.opts.tls.key, minVersion: 'TLSv1.2' },
        onConnection,
      );
      tls.on('tlsClientError', (error, socket) =>
        this.emit({
          type: 'refused',
          source: this.opts.name,
          address: plainAddress(socket.remoteAddress),
          reason: `TLS handshake failed: ${error.message}`,
        }),
      );
      server = tls;
    } else server = netServer(onConnection);
    server.maxConnections = this.opts.maxConnections ?? 256;
    server.on('drop', (data) =>
      this.emit({
        type: 'refused',
        source: this.opts.name,
        address: plainAddress(data?.remoteAddress),
        reason: `too many connections (maxConnections ${server.maxConnections})`,
      }),
    );
    server.on('error', (error) => this.failed(error));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** One TCP/TLS connection: deframe, frame, hand over, with the socket paused meanwhile. */
  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const peer: SyslogPeer = {
      address: plainAddress(socket.remoteAddress),
      port: socket.remotePort ?? 0,
      protocol: this.opts.protocol,
    };
    this.emit({ type: 'connected', source: this.opts.name, peer });
    let framer: LineFramer;
    try {
      framer = this.opts.framerFor(peer);
    } catch (error) {
      this.failed(error);
      socket.destroy();
      return;
    }
    const deframer = new StreamDeframer(this.opts.framing ?? 'auto', this.max);
    // Chunks are handled one at a time, in order: the socket is paused while the consumer works.
    let chain: Promise<void> = Promise.resolve();
    const handle = (lines: RawLine[]): Promise<void> => {
      if (lines.length === 0) return Promise.resolve();
      const frames = lines.map((line) => framer.frame(line));
      return Promise.resolve(this.opts.onFrames(frames, peer));
    };
    socket.on('data', (chunk: Buffer) => {
      socket.pause();
      chain = chain
        .then(() => handle(deframer.push(chunk)))
        .then(
          () => {
            socket.resume();
          },
          (error) => {
            this.failed(error);
            socket.destroy();
          },
        );
    });
    // The last message: at a clean end, or at a reset (whatever arrived before it is kept).
    let flushed = false;
    const flush = (): void => {
      if (flushed) return;
      flushed = true;
      chain = chain.then(() => handle(deframer.end())).catch((error) => this.failed(error));
    };
    socket.on('end', flush);
    socket.on('error', () => {
      // A reset connection: 'close' follows, and flushes.
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (!this.closed) flush();
      void chain.then(() =>
        this.emit({
          type: 'disconnected',
          source: this.opts.name,
          peer,
          messages: deframer.count,
          framing: deframer.mode === 'octet-counting' ? 'octet-counting' : 'newline',
        }),
      );
    });
  }

  private listenUdp(host: string): Promise<void> {
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
    this.udp = socket;
    socket.on('message', (data, info) => this.queueDatagram(data, info));
    socket.on('error', (error) => this.failed(error));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.opts.port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  }

  private queueDatagram(data: Buffer, info: RemoteInfo): void {
    if (this.udpQueue.length >= (this.opts.maxQueuedDatagrams ?? 10_000)) {
      this.dropped++;
      return;
    }
    this.udpQueue.push({ data, info });
    if (!this.udpDraining) void this.drainUdp();
  }

  /** Hands queued datagrams over, grouped by sender, one consumer call at a time. */
  private async drainUdp(): Promise<void> {
    this.udpDraining = true;
    try {
      while (this.udpQueue.length > 0 && !this.closed) {
        const batch = this.udpQueue;
        this.udpQueue = [];
        if (this.dropped > 0) {
          this.emit({ type: 'dropped', source: this.opts.name, count: this.dropped });
          this.dropped = 0;
        }
        const bySender = new Map<string, FramedLine[]>();
        for (const { data, info } of batch) {
          const sender = this.udpSender(info);
          if (!sender) continue;
          const bytes = trimLineEnd(data.length > this.max ? data.subarray(0, this.max) : data);
          sender.line++;
          const frame = sender.framer.frame({ bytes, offset: sender.offset, line: sender.line });
          sender.offset += data.length;
          const key = `${sender.peer.address}:${sender.peer.port}`;
          const frames = bySender.get(key);
          if (frames) frames.push(frame);
          else bySender.set(key, [frame]);
        }
        for (const [key, frames] of bySender) {
          try {
            await this.opts.onFrames(frames, this.udpPeers.get(key)!.peer);
          } catch (error) {
            this.failed(error);
          }
        }
      }
    } finally {
      this.udpDraining = false;
    }
  }

  private udpSender(
    info: RemoteInfo,
  ): { peer: SyslogPeer; framer: LineFramer; offset: number; line: number } | null {
    const peer: SyslogPeer = { address: plainAddress(info.address), port: info.port, protocol: 'udp' };
    const key = `${peer.address}:${peer.port}`;
    const known = this.udpPeers.get(key);
    if (known) {
      // Most recently heard senders last: the oldest are forgotten first.
      this.udpPeers.delete(key);
      this.udpPeers.set(key, known);
      return known;
    }
    let framer: LineFramer;
    try {
      framer = this.opts.framerFor(peer);
    } catch (error) {
      this.failed(error);
      return null;
    }
    const sender = { peer, framer, offset: 0, line: 0 };
    this.udpPeers.set(key, sender);
    if (this.udpPeers.size > MAX_UDP_SENDERS) {
      const oldest = this.udpPeers.keys().next().value;
      if (oldest !== undefined) this.udpPeers.delete(oldest);
    }
    return sender;
  }
}

/** UDP senders whose framer (and its time state) is kept. */
const MAX_UDP_SENDERS = 1024;

/** Starts listening; resolves once the socket is bound. */
export async function startSyslogReceiver(opts: SyslogReceiverOptions): Promise<SyslogReceiver> {
  const receiver = new SyslogReceiver(opts);
  await receiver.listen();
  return receiver;
}
