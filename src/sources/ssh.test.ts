import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, type SFTPWrapper } from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sniffFile, streamFingerprint } from './lines.js';
import {
  followSsh,
  hostKeyFingerprint,
  normalizeFingerprint,
  type SshFollower,
  type SshSourceOptions,
} from './ssh.js';
import { Collector, waitFor } from './testing/collect.js';
import { SshdLab, sshdUnavailable } from './testing/sshd.js';

const unavailable = sshdUnavailable();
const required = process.env.MAILTRACE_REQUIRE_SSH === '1';

describe('SSH host key fingerprints', () => {
  it('should print a key blob as OpenSSH does (SHA256, unpadded base64)', () => {
    const blob = Buffer.from(
      'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
      'base64',
    );
    // `echo "ssh-ed25519 AAAAC3Nz…GKJl x" | ssh-keygen -lf -` (OpenSSH 9.2)
    expect(hostKeyFingerprint(blob)).toBe('SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU');
  });

  it('should accept only a SHA256 fingerprint', () => {
    const fp = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';
    expect(normalizeFingerprint(` ${fp}= `)).toBe(fp);
    expect(normalizeFingerprint('MD5:12:34')).toBeNull();
    expect(normalizeFingerprint('SHA256:short')).toBeNull();
  });
});

if (unavailable && required) {
  describe('SSH reader against a real sshd', () => {
    it('should have sshd (MAILTRACE_REQUIRE_SSH=1)', () => {
      throw new Error(`sshd lab unavailable: ${unavailable}`);
    });
  });
}

const title = unavailable
  ? `SSH reader against a real sshd (skipped: ${unavailable}; set MAILTRACE_REQUIRE_SSH=1 to fail instead)`
  : 'SSH reader against a real sshd';

describe.skipIf(unavailable !== null)(title, () => {
  let lab: SshdLab;
  /** The fingerprint as the documented recipe gives it: `ssh-keyscan … | ssh-keygen -lf -`. */
  let pinned: string;
  const followers: SshFollower[] = [];

  beforeAll(async () => {
    lab = new SshdLab();
    lab.ensureUser();
    await lab.start('a');
    const scan = execFileSync('/usr/bin/ssh-keyscan', ['-t', 'ed25519', '-p', String(lab.port), lab.host], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    pinned = execFileSync('/usr/bin/ssh-keygen', ['-lf', '-'], { input: scan, encoding: 'utf8' }).split(
      ' ',
    )[1]!;
  });

  afterEach(async () => {
    await Promise.all(followers.splice(0).map((f) => f.close()));
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  const L = (n: number): string =>
    `Nov 28 10:00:${String(n % 60).padStart(2, '0')} mbox1 dovecot[${2000 + n}]: lmtp(alice): msgid=<${n}@example.org>: saved mail to INBOX`;
  const lines = (from: number, to: number): string => {
    let out = '';
    for (let n = from; n <= to; n++) out += `${L(n)}\n`;
    return out;
  };
  const expected = (from: number, to: number): string[] => {
    const out: string[] = [];
    for (let n = from; n <= to; n++) out.push(L(n));
    return out;
  };

  function follow(paths: string[], c: Collector, extra: Partial<SshSourceOptions> = {}): SshFollower {
    const follower = followSsh({
      name: 'mbox1',
      host: lab.host,
      port: lab.port,
      user: lab.user,
      privateKey: lab.clientKey,
      hostKey: pinned,
      paths,
      pollIntervalMs: 100,
      reconnectInitialMs: 100,
      reconnectMaxMs: 400,
      rotationGraceMs: 200,
      onLines: c.onLines,
      onEvent: c.onEvent,
      ...extra,
    });
    followers.push(follower);
    return follower;
  }

  it('should pin the key ssh-keyscan shows', () => {
    expect(pinned).toBe(lab.fingerprints.a);
  });

  it('should read a file matched by a glob, then the lines appended to it', async () => {
    const path = join(lab.logDir, 'glob-mail.log');
    writeFileSync(path, lines(1, 3));
    const c = new Collector();
    follow([join(lab.logDir, 'glob-*.log')], c);
    await waitFor(() => c.lines.length >= 3, 'the initial lines over SFTP');
    appendFileSync(path, lines(4, 5));
    await waitFor(() => c.lines.length >= 5, 'the appended lines');
    expect(c.texts).toEqual(expected(1, 5));
    expect(c.lines.map((l) => l.line)).toEqual([1, 2, 3, 4, 5]);
    const fp = streamFingerprint(await sniffFile(path));
    expect(c.lines.every((l) => l.fingerprint === fp && l.file === path)).toBe(true);
    expect(c.eventsOf('connected')).toEqual([
      { type: 'connected', source: 'mbox1', address: `${lab.host}:${lab.port}` },
    ]);
  });

  it('should follow a rotation by rename + create (no inodes over SFTP: first line and sizes)', async () => {
    const path = join(lab.logDir, 'rot.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    follow([path], c);
    await waitFor(() => c.lines.length >= 2, 'the first lines');
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, lines(3, 3));
    writeFileSync(path, lines(4, 5));
    await waitFor(() => c.lines.length >= 5, 'the rotated file and the new one');
    expect(c.texts).toEqual(expected(1, 5));
    expect(c.lines.map((l) => l.line)).toEqual([1, 2, 3, 1, 2]);
    expect(c.eventsOf('rotated').map((e) => e.how)).toEqual(['renamed']);
  });

  it('should follow a copytruncate rotation without losing or repeating a line', async () => {
    const path = join(lab.logDir, 'ct.log');
    writeFileSync(path, lines(1, 2));
    const c = new Collector();
    follow([path], c);
    await waitFor(() => c.lines.length >= 2, 'the first lines');
    appendFileSync(path, lines(3, 4));
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, lines(5, 5));
    await waitFor(() => c.lines.length >= 5, 'the lines after copytruncate');
    expect(c.texts).toEqual(expected(1, 5));
    expect(c.eventsOf('rotated').map((e) => e.how)).toEqual(['truncated']);
    expect(c.eventsOf('lost')).toEqual([]);
  });

  it('should read through a bandwidth cap', async () => {
    const path = join(lab.logDir, 'capped.log');
    writeFileSync(path, lines(1, 200));
    const c = new Collector();
    follow([path], c, { bandwidthLimit: 16 * 1024 });
    await waitFor(() => c.lines.length >= 200, 'the capped file', 20_000);
    expect(c.texts).toEqual(expected(1, 200));
  });

  it('should refuse a server whose host key changed, naming both fingerprints', async () => {
    await lab.stop();
    await lab.start('b');
    try {
      const path = join(lab.logDir, 'refused.log');
      writeFileSync(path, lines(1, 1));
      const c = new Collector();
      follow([path], c);
      await waitFor(() => c.eventsOf('host-key-mismatch').length > 0, 'the refusal');
      const [refusal] = c.eventsOf('host-key-mismatch');
      expect(refusal).toMatchObject({ expected: lab.fingerprints.a, presented: lab.fingerprints.b });
      expect(refusal!.message).toContain(lab.fingerprints.a);
      expect(refusal!.message).toContain(lab.fingerprints.b);
      expect(c.eventsOf('connected')).toEqual([]);
      expect(c.lines).toEqual([]);
    } finally {
      await Promise.all(followers.splice(0).map((f) => f.close()));
      await lab.stop();
      await lab.start('a');
    }
  });

  it('should resume after sshd stopped and came back, across a rotation meanwhile, without loss or repetition', async () => {
    const path = join(lab.logDir, 'restart.log');
    writeFileSync(path, lines(1, 3));
    const c = new Collector();
    follow([path], c);
    await waitFor(() => c.lines.length >= 3, 'the first lines');
    await lab.stop();
    await waitFor(() => c.eventsOf('disconnected').length > 0, 'the disconnection');
    appendFileSync(path, lines(4, 5));
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines(6, 7));
    await lab.start('a');
    await waitFor(() => c.lines.length >= 7, 'the lines written while sshd was down', 20_000);
    appendFileSync(path, lines(8, 8));
    await waitFor(() => c.lines.length >= 8, 'a line after the reconnection');
    expect(c.texts).toEqual(expected(1, 8));
    expect(c.lines.map((l) => l.file)).toEqual([
      path,
      path,
      path,
      `${path}.1`,
      `${path}.1`,
      path,
      path,
      path,
    ]);
    expect(c.eventsOf('connected').length).toBe(2);
    // The link drops with a close or a reset, depending on which side's packets come first.
    expect(c.eventsOf('disconnected')[0]).toMatchObject({ retryInMs: 100 });
    expect(c.eventsOf('disconnected')[0]!.reason).toMatch(/^(connection closed|read ECONNRESET)$/);
    const oldFp = c.lines[0]!.fingerprint;
    expect(c.eventsOf('recovered')).toEqual([
      {
        type: 'recovered',
        path,
        file: `${path}.1`,
        fingerprint: oldFp,
        from: Buffer.byteLength(lines(1, 3)),
        to: Buffer.byteLength(lines(1, 5)),
      },
    ]);
    // The link's state is told once, by the SSH events, not again by each follower.
    expect(c.eventsOf('error')).toEqual([]);
  });

  describe('the read-only account', () => {
    function sftpAsAccount(): Promise<{ client: Client; sftp: SFTPWrapper }> {
      return new Promise((resolve, reject) => {
        const client = new Client();
        client.on('error', reject);
        client.on('ready', () =>
          client.sftp((error, sftp) => (error ? reject(error) : resolve({ client, sftp }))),
        );
        client.connect({
          host: lab.host,
          port: lab.port,
          username: lab.user,
          privateKey: lab.clientKey,
          hostVerifier: (key: Buffer) => hostKeyFingerprint(key) === pinned,
        });
      });
    }

    const statusOf = (op: (cb: (error: Error | null | undefined) => void) => void): Promise<unknown> =>
      new Promise((resolve) =>
        op((error) => resolve((error as { code?: unknown } | undefined)?.code ?? 'ok')),
      );

    it('should be able to read the logs but not to write, create or rename anything there', async () => {
      const path = join(lab.logDir, 'ro.log');
      writeFileSync(path, lines(1, 1));
      const { client, sftp } = await sftpAsAccount();
      try {
        const content = await new Promise<Buffer>((resolve, reject) => {
          const parts: Buffer[] = [];
          sftp
            .createReadStream(path)
            .on('data', (d: Buffer) => parts.push(d))
            .on('end', () => resolve(Buffer.concat(parts)))
            .on('error', reject);
        });
        expect(content.toString('utf8')).toBe(lines(1, 1));
        // SFTP status 3: permission denied.
        expect(await statusOf((cb) => sftp.open(path, 'a', (e) => cb(e)))).toBe(3);
        expect(await statusOf((cb) => sftp.open(join(lab.logDir, 'new.log'), 'w', (e) => cb(e)))).toBe(3);
        expect(await statusOf((cb) => sftp.rename(path, `${path}.moved`, (e) => cb(e)))).toBe(3);
        expect(await statusOf((cb) => sftp.unlink(path, (e) => cb(e)))).toBe(3);
        expect(readFileSync(path, 'utf8')).toBe(lines(1, 1));
      } finally {
        client.end();
      }
    });
  });
});
