import { describe, expect, it } from 'vitest';
import type { MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import { fixtureLines, frame, frameLines } from '../testing/corpus.js';
import { clamdParser } from './parser.js';

/** clamd's own LogFile (`Sat Nov 28 01:39:14 2026 -> text`) and its syslog datagrams, captured live. */
const logFile = frameLines(fixtureLines(new URL('./fixtures/clamd-logfile.log', import.meta.url)), {
  host: 'mx',
});
const syslog = frameLines(fixtureLines(new URL('./fixtures/clamd-syslog.log', import.meta.url)), {
  host: 'mx',
});

function parse(text: string): MailEvent | null {
  return clamdParser.parse(frame('clamd', text));
}

/** Events of every captured line (both captures) whose text contains the fragment. */
function eventsOf(fragment: string): MailEvent[] {
  const frames: Frame[] = [...logFile, ...syslog].filter((f) => f.text.includes(fragment));
  if (frames.length === 0) throw new Error(`no captured line contains ${fragment}`);
  return frames.map((f) => clamdParser.parse(f)!);
}

const EICAR = 'Eicar-Test-Signature.UNOFFICIAL';

const CAPTURED: readonly (readonly [string, MailEvent])[] = [
  [
    '/tmp/clamlab/scan/eicar.com: Eicar-Test-Signature',
    { kind: 'virus-found', scanner: 'clamav', virus: EICAR, target: '/tmp/clamlab/scan/eicar.com' },
  ],
  [
    'instream(local): Eicar-Test-Signature',
    { kind: 'virus-found', scanner: 'clamav', virus: EICAR, target: 'instream(local)' },
  ],
  [
    'instream(127.0.0.1@60448)',
    { kind: 'virus-found', scanner: 'clamav', virus: EICAR, target: 'instream(127.0.0.1@60448)' },
  ],
  [
    'amavis-20261128T100000-12345-AbCdEf/parts/p002',
    {
      kind: 'virus-found',
      scanner: 'clamav',
      virus: EICAR,
      target: '/tmp/clamlab/amavis/tmp/amavis-20261128T100000-12345-AbCdEf/parts/p002',
      amavisPid: 12345,
    },
  ],
  [
    'amavis-20070602T073014-06432/parts/p003',
    {
      kind: 'virus-found',
      scanner: 'clamav',
      virus: EICAR,
      target: '/tmp/clamlab/amavis/tmp/amavis-20070602T073014-06432/parts/p003',
      amavisPid: 6432,
    },
  ],
  [
    // a file name that imitates the line's own format: the last `: ` before ` FOUND` separates
    'odd name: x FOUND.txt',
    {
      kind: 'virus-found',
      scanner: 'clamav',
      virus: 'Eicar-Sig-NDB.UNOFFICIAL',
      target: '/tmp/clamlab/scan/odd name: x FOUND.txt',
    },
  ],
  [
    'scan/e.zip: ',
    {
      kind: 'virus-found',
      scanner: 'clamav',
      virus: 'Eicar-Sig-NDB.UNOFFICIAL',
      target: '/tmp/clamlab/scan/e.zip',
    },
  ],
  [
    'instream(local): Eicar-Sig-NDB',
    { kind: 'virus-found', scanner: 'clamav', virus: 'Eicar-Sig-NDB.UNOFFICIAL', target: 'instream(local)' },
  ],
  ['scan/clean.txt: OK', { kind: 'info', label: 'clean' }],
  ['instream(127.0.0.1@60454): OK', { kind: 'info', label: 'clean' }],
  ['parts/p001: OK', { kind: 'info', label: 'clean' }],
  ['SelfCheck: Database status OK.', { kind: 'info', label: 'selfcheck' }],
  ['SelfCheck: Database modification detected', { kind: 'info', label: 'selfcheck' }],
  ['+++ Started at', { kind: 'info', label: 'startup' }],
  ['clamd daemon 1.4.6', { kind: 'info', label: 'startup' }],
  ['Received 0 file descriptor(s) from systemd.', { kind: 'info', label: 'startup' }],
  ['Limits: Global time limit', { kind: 'info', label: 'startup' }],
  ['Archive support enabled.', { kind: 'info', label: 'startup' }],
  ['AlertExceedsMax heuristic detection disabled.', { kind: 'info', label: 'startup' }],
  ['Listening daemon: PID:', { kind: 'info', label: 'startup' }],
  ['Loaded 1 signatures.', { kind: 'info', label: 'startup' }],
  ['Reading databases from', { kind: 'info', label: 'database' }],
  ['Database correctly reloaded', { kind: 'info', label: 'database' }],
  ['Activating the newly loaded database', { kind: 'info', label: 'database' }],
  // `WARNING: ` in the LogFile; syslog(3) gets the same text without it, at warning priority
  ['File path check failure on: /nonexistent/file', { kind: 'info', label: 'warning' }],
  ['--- Stopped at', { kind: 'info', label: 'shutdown' }],
  ['Pid file removed.', { kind: 'info', label: 'shutdown' }],
  ['Socket file removed.', { kind: 'info', label: 'shutdown' }],
  ['Waiting for all threads to finish', { kind: 'info', label: 'shutdown' }],
];

describe('clamd parser on lines captured from clamd 1.4.6', () => {
  it('frames both captures as clamd lines', () => {
    expect(logFile.length).toBeGreaterThan(100);
    expect(syslog.length).toBeGreaterThan(100);
    for (const f of [...logFile, ...syslog]) expect(clamdParser.handles(f.program)).toBe(true);
    // syslog(3) datagrams carry the daemon's pid
    expect(syslog[0]?.pid).toBe(23069);
  });

  it.each(CAPTURED)('%s', (fragment, expected) => {
    for (const event of eventsOf(fragment)) expect(event).toEqual(expected);
  });

  it('recognises every captured line', () => {
    const unknown = [...logFile, ...syslog].filter((f) => clamdParser.parse(f) === null).map((f) => f.raw);
    expect(unknown).toEqual([]);
  });

  it('finds the same detections in the LogFile and in syslog', () => {
    const found = (frames: Frame[]) =>
      frames.map((f) => clamdParser.parse(f)).filter((e) => e?.kind === 'virus-found');
    expect(found(logFile)).toHaveLength(11);
    expect(found(syslog)).toEqual(found(logFile));
  });
});

describe('clamd targets from clamd/scanner.c', () => {
  it('reads FILDES and the old STREAM command', () => {
    expect(parse('fd[10]: Win.Test.EICAR_HDB-1 FOUND')).toEqual({
      kind: 'virus-found',
      scanner: 'clamav',
      virus: 'Win.Test.EICAR_HDB-1',
      target: 'fd[10]',
    });
    expect(
      parse('stream(192.0.2.1@2345): Eicar-Test-Signature(44d88612fea8a8f36de82e1278abb02f:68) FOUND'),
    ).toEqual({
      kind: 'virus-found',
      scanner: 'clamav',
      virus: 'Eicar-Test-Signature',
      target: 'stream(192.0.2.1@2345)',
    });
  });

  it('reads the pid of an amavis temp dir scanned as a whole and of a 7-digit pid', () => {
    expect(
      parse('/var/lib/amavis/tmp/amavis-20261128T100000-12345-AbCdEf: Heuristics.Limits.Exceeded FOUND'),
    ).toEqual({
      kind: 'virus-found',
      scanner: 'clamav',
      virus: 'Heuristics.Limits.Exceeded',
      target: '/var/lib/amavis/tmp/amavis-20261128T100000-12345-AbCdEf',
      amavisPid: 12345,
    });
    expect(
      parse(
        '/var/amavis/tmp/amavis-20240601T091828-1988516-Xy12/parts/p004: Sanesecurity.Foxhole.Zip_fs FOUND',
      ),
    ).toMatchObject({
      amavisPid: 1988516,
    });
    expect(parse('/home/u/amavisd-20240601T091828-1/x: Foo FOUND')).not.toHaveProperty('amavisPid');
  });

  it('keeps errors and warnings as information', () => {
    expect(parse("fd[10]: Can't allocate memory ERROR")).toEqual({ kind: 'info', label: 'error' });
    expect(parse("ERROR: Can't open /var/log/clamav/clamd.log in append mode (check permissions!).")).toEqual(
      {
        kind: 'info',
        label: 'error',
      },
    );
  });

  it('returns null for what it cannot read', () => {
    for (const text of ['', 'FOUND', ' FOUND', 'x FOUND', 'a: two words FOUND', ': FOUND', 'something new']) {
      expect(parse(text)).toBeNull();
    }
  });

  it('bounds long values and never throws', () => {
    const event = parse(`/${'d/'.repeat(5000)}f: ${'V'.repeat(5000)} FOUND`);
    if (event?.kind !== 'virus-found') throw new Error('not a detection');
    expect(event.target.length).toBe(4096);
    expect(event.virus.length).toBe(512);
    const started = Date.now();
    for (const text of [
      `${': '.repeat(100_000)}FOUND`,
      `/amavis-${'1'.repeat(100_000)}: x FOUND`,
      `${'('.repeat(100_000)} FOUND`,
    ]) {
      expect(() => parse(text)).not.toThrow();
    }
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('handles clamd only', () => {
    expect(clamdParser.handles('clamd')).toBe(true);
    expect(clamdParser.handles('/usr/sbin/clamd')).toBe(true);
    for (const p of ['clamscan', 'freshclam', 'clamav-milter', 'amavis'])
      expect(clamdParser.handles(p)).toBe(false);
  });
});
