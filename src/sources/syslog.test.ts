import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FramedLine, isInvalid } from '../core/frame.js';
import { Framer } from '../framing/index.js';
import type { RawLine } from './lines.js';
import {
  StreamDeframer,
  type SyslogEvent,
  type SyslogPeer,
  type SyslogReceiver,
  type SyslogReceiverOptions,
  startSyslogReceiver,
} from './syslog.js';
import { waitFor } from './testing/collect.js';

// Real lines, from the framing fixtures (copied there from /work/shared/corpus:
// other-mail/lograptor-tests-samples-rfc5424.log and postfix/lightmeter/11_single_successful_delivery.log).
const fixture = (name: string): string[] =>
  readFileSync(new URL(`../framing/fixtures/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
const RFC5424 = fixture('rfc5424.log');
const RFC3164 = fixture('rfc3164.log');
const SU_5424 = RFC5424[0]!; // <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed…
const SMTPD_3164 = RFC3164[0]!; // Dec  9 10:18:23 mail postfix/submission/smtpd[20040]: connect from …
/** RFC 5424 with a nil HOSTNAME: the sender's address names the host. */
const NIL_HOST_5424 = '<22>1 2026-11-28T10:00:00.250Z - postfix/qmgr 4242 - - 4F3A21C0D1: removed';

interface Received {
  frame: FramedLine;
  peer: SyslogPeer;
}

class Sink {
  readonly received: Received[] = [];
  readonly events: SyslogEvent[] = [];
  gate: Promise<void> | null = null;
  readonly onFrames = async (frames: FramedLine[], peer: SyslogPeer): Promise<void> => {
    if (this.gate) await this.gate;
    for (const frame of frames) this.received.push({ frame, peer });
  };
  readonly onEvent = (event: SyslogEvent): void => {
    this.events.push(event);
  };
  get raws(): string[] {
    return this.received.map((r) => r.frame.raw);
  }
}

const receivers: SyslogReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** The framing a configured syslog source gets: the sender's address as host fallback. */
function framerFor(peer: SyslogPeer): Framer {
  return new Framer({
    source: 'syslog-in',
    file: `${peer.protocol}://${peer.address}:${peer.port}`,
    format: 'auto',
    encoding: 'auto',
    timeZone: 'UTC',
    host: peer.address,
  });
}

async function receiver(sink: Sink, extra: Partial<SyslogReceiverOptions>): Promise<SyslogReceiver> {
  const r = await startSyslogReceiver({
    name: 'syslog-in',
    host: '127.0.0.1',
    port: 0,
    protocol: 'tcp',
    framerFor,
    onFrames: sink.onFrames,
    onEvent: sink.onEvent,
    ...extra,
  });
  receivers.push(r);
  return r;
}

function tcpSend(port: number, chunks: (string | Buffer)[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', async () => {
      for (const chunk of chunks) {
        await new Promise<void>((done) => socket.write(chunk, () => done()));
      }
      socket.end(resolve);
    });
    socket.on('error', reject);
  });
}

function octet(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}

describe('StreamDeframer', () => {
  const texts = (lines: RawLine[]): string[] => lines.map((l) => l.bytes.toString('utf8'));

  function feedByteByByte(d: StreamDeframer, data: string): RawLine[] {
    const out: RawLine[] = [];
    const bytes = Buffer.from(data);
    for (let i = 0; i < bytes.length; i++) {
      for (const l of d.push(bytes.subarray(i, i + 1))) out.push({ ...l, bytes: Buffer.from(l.bytes) });
    }
    return out.concat(d.end());
  }

  it('should read octet counting even one byte at a time, with embedded newlines and offsets', () => {
    const d = new StreamDeframer('auto', 1024);
    const multi = '<13>1 2026-11-28T10:00:00Z mx1 app - - - first\nsecond';
    const out = feedByteByByte(d, octet(SU_5424) + octet(multi));
    expect(d.mode).toBe('octet-counting');
    expect(texts(out)).toEqual([SU_5424, multi]);
    const first = `${Buffer.byteLength(SU_5424)} `.length;
    expect(out.map((l) => [l.offset, l.line, l.truncated])).toEqual([
      [first, 1, false],
      [first + Buffer.byteLength(SU_5424) + `${Buffer.byteLength(multi)} `.length, 2, false],
    ]);
  });

  it('should take newline framing when the stream does not start with a length', () => {
    const d = new StreamDeframer('auto', 1024);
    const out = feedByteByByte(d, `${SU_5424}\n${SMTPD_3164}\r\n2026-11-28T10:00:00Z mx1 app: text`);
    expect(d.mode).toBe('newline');
    expect(texts(out)).toEqual([SU_5424, SMTPD_3164, '2026-11-28T10:00:00Z mx1 app: text']);
    expect(out.map((l) => l.line)).toEqual([1, 2, 3]);
  });

  it('should not mistake a line starting with digits for a length', () => {
    const d = new StreamDeframer('auto', 1024);
    const line = '2026-11-28T10:00:00.123456+01:00 mx1 postfix/smtpd[1]: connect from x[192.0.2.1]';
    expect(texts(feedByteByByte(d, `${line}\n`))).toEqual([line]);
    expect(d.mode).toBe('newline');
  });

  it('should go on as newline framing when octet counting breaks, keeping the odd bytes', () => {
    const d = new StreamDeframer('auto', 1024);
    const out = feedByteByByte(d, `${octet(SU_5424)}${SMTPD_3164}\n`);
    expect(texts(out)).toEqual([SU_5424, SMTPD_3164]);
    expect(out[1]!.offset).toBe(Buffer.byteLength(octet(SU_5424)));
    expect(out[1]!.line).toBe(2);
  });

  it('should cut an overlong counted message, skip its rest and read the next one whole', () => {
    const d = new StreamDeframer('octet-counting', 16);
    const long = `<13>1 ${'x'.repeat(100)}`;
    const out = feedByteByByte(d, octet(long) + octet('<13>1 short'));
    expect(texts(out)).toEqual([long.slice(0, 16), '<13>1 short']);
    expect(out.map((l) => l.truncated)).toEqual([true, false]);
  });

  it('should deliver a counted message cut by the end of the connection as truncated', () => {
    const d = new StreamDeframer('auto', 1024);
    d.push(Buffer.from('100 <13>1 partial'));
    const out = d.end();
    expect(texts(out)).toEqual(['<13>1 partial']);
    expect(out[0]!.truncated).toBe(true);
  });
});

describe('syslog receiver over TCP', () => {
  it('should frame newline-terminated messages split anywhere, with the sender as host fallback', async () => {
    const sink = new Sink();
    const r = await receiver(sink, {});
    const data = `${SU_5424}\n${NIL_HOST_5424}\n${SMTPD_3164}\n`;
    await tcpSend(r.address().port, [data.slice(0, 7), data.slice(7, 150), data.slice(150)]);
    await waitFor(() => sink.received.length === 3, 'three messages');
    expect(sink.raws).toEqual([SU_5424, NIL_HOST_5424, SMTPD_3164]);
    const [su, qmgr, smtpd] = sink.received.map((r) => r.frame);
    if (isInvalid(su!) || isInvalid(qmgr!) || isInvalid(smtpd!)) throw new Error('expected valid frames');
    expect(su).toMatchObject({
      host: 'mymachine.example.com',
      program: 'su',
      at: Date.parse('2003-10-11T22:14:15.003Z'),
    });
    expect(qmgr).toMatchObject({
      host: '127.0.0.1',
      program: 'postfix/qmgr',
      pid: 4242,
      text: '4F3A21C0D1: removed',
    });
    expect(qmgr!.origin).toMatchObject({
      source: 'syslog-in',
      line: 2,
      offset: Buffer.byteLength(`${SU_5424}\n`),
    });
    expect(smtpd).toMatchObject({ host: 'mail', program: 'postfix/submission/smtpd', pid: 20040 });
    await waitFor(() => sink.events.some((e) => e.type === 'disconnected'), 'the disconnection');
    expect(sink.events.find((e) => e.type === 'disconnected')).toMatchObject({
      messages: 3,
      framing: 'newline',
    });
  });

  it('should read octet-counted messages and keep a multi-line message whole', async () => {
    const sink = new Sink();
    const r = await receiver(sink, {});
    const multi = '<14>1 2026-11-28T10:00:01Z mbox1 dovecot - - - lmtp(alice): first line\nsecond line';
    await tcpSend(r.address().port, [octet(SU_5424), octet(multi).slice(0, 5), octet(multi).slice(5)]);
    await waitFor(() => sink.received.length === 2, 'two messages');
    expect(sink.raws).toEqual([SU_5424, multi]);
    await waitFor(() => sink.events.some((e) => e.type === 'disconnected'), 'the disconnection');
    expect(sink.events.find((e) => e.type === 'disconnected')).toMatchObject({
      messages: 2,
      framing: 'octet-counting',
    });
  });

  it('should keep the last, unterminated message of a connection that was reset', async () => {
    const sink = new Sink();
    const r = await receiver(sink, {});
    const socket = await new Promise<Socket>((resolve) => {
      const s = netConnect(r.address().port, '127.0.0.1', () =>
        s.write(`${SU_5424}\n${NIL_HOST_5424}`, () => resolve(s)),
      );
    });
    // The first message framed means the second one's bytes were read too (same write).
    await waitFor(() => sink.received.length === 1, 'the first message');
    socket.resetAndDestroy();
    await waitFor(() => sink.received.length === 2, 'both messages');
    expect(sink.raws).toEqual([SU_5424, NIL_HOST_5424]);
  });

  it('should make a sender wait while the consumer is busy, and lose nothing', async () => {
    const sink = new Sink();
    let open!: () => void;
    sink.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const r = await receiver(sink, {});
    const many = Array.from(
      { length: 2000 },
      (_, i) => `<22>1 2026-11-28T10:00:00Z mx1 postfix/smtpd ${i} - - n=${i}`,
    );
    const sent = tcpSend(
      r.address().port,
      many.map((m) => `${m}\n`),
    );
    await waitFor(() => sink.events.some((e) => e.type === 'connected'), 'the connection');
    expect(sink.received).toEqual([]);
    open();
    await sent;
    await waitFor(() => sink.received.length === 2000, 'every message');
    expect(sink.raws).toEqual(many);
  });

  it('should refuse connections beyond maxConnections', async () => {
    const sink = new Sink();
    const r = await receiver(sink, { maxConnections: 1 });
    const first = await new Promise<Socket>((resolve) => {
      const s = netConnect(r.address().port, '127.0.0.1', () => resolve(s));
    });
    await waitFor(() => sink.events.some((e) => e.type === 'connected'), 'the first connection');
    const second = netConnect(r.address().port, '127.0.0.1');
    second.on('error', () => {});
    await waitFor(() => sink.events.some((e) => e.type === 'refused'), 'the refusal');
    expect(sink.events.find((e) => e.type === 'refused')).toMatchObject({
      address: '127.0.0.1',
      reason: 'too many connections (maxConnections 1)',
    });
    first.destroy();
    second.destroy();
  });
});

describe('syslog receiver over UDP', () => {
  it('should frame one message per datagram, trailing newline dropped, sender as host fallback', async () => {
    const sink = new Sink();
    const r = await receiver(sink, { protocol: 'udp' });
    const client = createSocket('udp4');
    for (const message of [SU_5424, `${NIL_HOST_5424}\n`]) {
      await new Promise<void>((resolve, reject) =>
        client.send(message, r.address().port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
      );
    }
    await waitFor(() => sink.received.length === 2, 'two datagrams');
    client.close();
    expect(sink.raws).toEqual([SU_5424, NIL_HOST_5424]);
    expect(sink.received[1]!.frame).toMatchObject({ host: '127.0.0.1', program: 'postfix/qmgr' });
    expect(sink.received[1]!.peer).toMatchObject({ address: '127.0.0.1', protocol: 'udp' });
    expect(sink.received[1]!.frame.origin.line).toBe(2);
  });
});

const OPENSSL = '/usr/bin/openssl';

describe.skipIf(!existsSync(OPENSSL))(
  'syslog receiver over TLS (a self-signed certificate made by openssl)',
  () => {
    let dir = '';
    let cert: Buffer;
    let key: Buffer;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'mailtrace-tls-'));
      const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
      args.push(
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      );
      execFileSync(OPENSSL, args, { stdio: 'ignore' });
      cert = readFileSync(join(dir, 'cert.pem'));
      key = readFileSync(join(dir, 'key.pem'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('should read octet-counted messages over TLS', async () => {
      const sink = new Sink();
      const r = await receiver(sink, { protocol: 'tls', tls: { cert, key } });
      await new Promise<void>((resolve, reject) => {
        const socket = tlsConnect(
          { port: r.address().port, host: '127.0.0.1', ca: cert, servername: 'localhost' },
          () => {
            socket.end(octet(SU_5424) + octet(NIL_HOST_5424), () => resolve());
          },
        );
        socket.on('error', reject);
      });
      await waitFor(() => sink.received.length === 2, 'two messages over TLS');
      expect(sink.raws).toEqual([SU_5424, NIL_HOST_5424]);
      expect(sink.received[0]!.peer.protocol).toBe('tls');
    });

    it('should report a client that fails the TLS handshake', async () => {
      const sink = new Sink();
      const r = await receiver(sink, { protocol: 'tls', tls: { cert, key } });
      await tcpSend(r.address().port, ['this is not TLS\n']);
      await waitFor(() => sink.events.some((e) => e.type === 'refused'), 'the refusal');
      expect(sink.events.find((e) => e.type === 'refused')).toMatchObject({ address: '127.0.0.1' });
      expect(sink.received).toEqual([]);
    });
  },
);

const LOGGER = '/usr/bin/logger';

describe.skipIf(!existsSync(LOGGER))('syslog receiver fed by util-linux logger', () => {
  const send = (port: number, args: string[]): void => {
    execFileSync(LOGGER, [
      '-n',
      '127.0.0.1',
      '-P',
      String(port),
      '--rfc5424',
      '-t',
      'postfix/smtpd',
      ...args,
    ]);
  };

  it('should read logger over TCP with newline framing and with octet counting, and over UDP', async () => {
    for (const [protocol, flags, framing] of [
      ['tcp', ['-T'], 'newline'],
      ['tcp', ['-T', '--octet-count'], 'octet-counting'],
      ['udp', ['-d'], null],
    ] as const) {
      const sink = new Sink();
      const r = await receiver(sink, { protocol });
      send(r.address().port, [...flags, `NOQUEUE: reject: RCPT from unknown[192.0.2.7]: via ${protocol}`]);
      await waitFor(() => sink.received.length === 1, `logger's message over ${protocol}`);
      const frame = sink.received[0]!.frame;
      if (isInvalid(frame)) throw new Error(`invalid frame: ${frame.reason}: ${frame.raw}`);
      expect(frame.program).toBe('postfix/smtpd');
      expect(frame.text).toBe(`NOQUEUE: reject: RCPT from unknown[192.0.2.7]: via ${protocol}`);
      expect(frame.raw.startsWith('<13>1 ')).toBe(true);
      if (framing) {
        await waitFor(() => sink.events.some((e) => e.type === 'disconnected'), 'the disconnection');
        expect(sink.events.find((e) => e.type === 'disconnected')).toMatchObject({ framing });
      }
      await r.close();
    }
  });
});
