/**
 * A real OpenSSH server for tests: Debian's sshd on 127.0.0.1 with its own config, host keys, port
 * and authorized_keys, and a dedicated unprivileged account (no shell, no password) that can read the
 * log directory but not write it. Needs root (sshd, useradd) and `openssh-server`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';
export const LAB_USER = 'mailtrace-ro';

/** Why the lab cannot run here, or null. */
export function sshdUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root (sshd and useradd need root)';
  for (const tool of [SSHD, '/usr/bin/ssh-keygen', '/usr/bin/ssh-keyscan', '/usr/sbin/useradd']) {
    if (!existsSync(tool)) return `${tool} is missing (apt-get install -y openssh-server)`;
  }
  return null;
}

function run(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Resolves once the port answers with an SSH banner; rejects after `timeoutMs`. */
async function waitForBanner(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(1000);
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString('latin1').startsWith('SSH-2.0-'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The process and all its descendants (sshd forks one process tree per connection). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number): void => {
    let children: string;
    try {
      children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8');
    } catch {
      return;
    }
    for (const child of children.split(/\s+/).filter(Boolean).map(Number)) {
      out.push(child);
      visit(child);
    }
  };
  visit(pid);
  return out;
}

export class SshdLab {
  readonly host = '127.0.0.1';
  readonly user = LAB_USER;
  readonly dir: string;
  readonly logDir: string;
  readonly clientKey: Buffer;
  /** Fingerprints of the two host keys: `a` is served unless `start('b')`. */
  readonly fingerprints: { a: string; b: string };
  port = 0;
  private process: ChildProcess | null = null;
  private stderr = '';

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'mailtrace-sshd-'));
    // The account must traverse the lab directory to reach the logs and its authorized_keys.
    chmodSync(this.dir, 0o755);
    this.logDir = join(this.dir, 'log');
    mkdirSync(this.logDir, { mode: 0o755 });
    const keys = join(this.dir, 'keys');
    mkdirSync(keys, { mode: 0o700 });
    for (const name of ['host_a', 'host_b', 'client']) {
      run('/usr/bin/ssh-keygen', [
        '-q',
        '-t',
        'ed25519',
        '-N',
        '',
        '-C',
        `mailtrace-lab-${name}`,
        '-f',
        join(keys, name),
      ]);
    }
    this.clientKey = readFileSync(join(keys, 'client'));
    const auth = join(this.dir, 'auth');
    mkdirSync(auth, { mode: 0o755 });
    writeFileSync(join(auth, 'authorized_keys'), readFileSync(join(keys, 'client.pub')), { mode: 0o644 });
    const fingerprint = (pub: string): string => run('/usr/bin/ssh-keygen', ['-lf', pub]).split(' ')[1]!;
    this.fingerprints = {
      a: fingerprint(join(keys, 'host_a.pub')),
      b: fingerprint(join(keys, 'host_b.pub')),
    };
  }

  /**
   * Creates the unprivileged account if it does not exist: no home, no shell, no password (`*`, which
   * sshd does not take for a locked account). It is left in place for the next run: deleting it
   * could break another test run using it at the same time.
   */
  ensureUser(): void {
    try {
      run('/usr/bin/id', ['-u', LAB_USER]);
      return;
    } catch {
      // absent: create it below
    }
    try {
      run('/usr/sbin/useradd', [
        '--system',
        '--no-create-home',
        '--home-dir',
        '/nonexistent',
        '--shell',
        '/usr/sbin/nologin',
        '--password',
        '*',
        LAB_USER,
      ]);
    } catch (error) {
      // 9: created meanwhile by a concurrent run.
      if ((error as { status?: number }).status !== 9) throw error;
    }
  }

  private writeConfig(key: 'a' | 'b'): string {
    const config = join(this.dir, `sshd_config_${key}`);
    writeFileSync(
      config,
      [
        `Port ${this.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(this.dir, 'keys', `host_${key}`)}`,
        `PidFile ${join(this.dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(this.dir, 'auth', 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        `AllowUsers ${LAB_USER}`,
        'Subsystem sftp internal-sftp',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    return config;
  }

  /** Starts sshd (on the same port as before, if it ran already) serving host key `key`. */
  async start(key: 'a' | 'b' = 'a'): Promise<void> {
    if (this.process) throw new Error('sshd already running');
    if (this.port === 0) this.port = await freePort();
    // sshd's privilege separation directory.
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const config = this.writeConfig(key);
    run(SSHD, ['-t', '-f', config]);
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (data: Buffer) => {
      this.stderr = (this.stderr + data.toString('utf8')).slice(-20_000);
    });
    this.process = child;
    await waitForBanner(this.port);
  }

  /** Stops sshd and every session it forked (so that connected clients see the link drop). */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child?.pid) return;
    this.process = null;
    const tree = descendants(child.pid);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.kill('SIGTERM');
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited;
  }

  /** sshd's recent stderr, for failure messages. */
  get log(): string {
    return this.stderr;
  }

  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
