import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localFs } from './follow-fs.js';
import { expandGlob, hasMagic, segmentRegExp } from './glob.js';

const dir = mkdtempSync(join(tmpdir(), 'mailtrace-glob-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('segmentRegExp', () => {
  it('should match *, ? and classes within one segment, and everything else literally', () => {
    const re = segmentRegExp('mail-[0-9][!a].log*');
    expect(re.test('mail-1b.log')).toBe(true);
    expect(re.test('mail-1b.log.1')).toBe(true);
    expect(re.test('mail-1a.log')).toBe(false);
    expect(re.test('mail-xb.log')).toBe(false);
    expect(segmentRegExp('a.b').test('axb')).toBe(false);
    expect(segmentRegExp('a?c').test('abc')).toBe(true);
    expect(segmentRegExp('[unclosed').test('[unclosed')).toBe(true);
    expect(segmentRegExp('(x)+$').test('(x)+$')).toBe(true);
  });

  it('should tell globs from plain paths', () => {
    expect(hasMagic('/var/log/mail.log')).toBe(false);
    expect(hasMagic('/var/log/*.log')).toBe(true);
    expect(hasMagic('/srv/qmail/log/?/current')).toBe(true);
  });
});

describe('expandGlob', () => {
  it('should list matching regular files, sorted, through magic directories, without dotfiles', async () => {
    for (const sub of ['smtpd', 'send', '.old']) mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'smtpd', 'current'), '');
    writeFileSync(join(dir, 'send', 'current'), '');
    writeFileSync(join(dir, '.old', 'current'), '');
    mkdirSync(join(dir, 'send', 'dir.log'));
    writeFileSync(join(dir, 'send', 'a.log'), '');
    writeFileSync(join(dir, 'send', '.hidden.log'), '');
    expect(await expandGlob(join(dir, '*', 'current'), localFs)).toEqual([
      join(dir, 'send', 'current'),
      join(dir, 'smtpd', 'current'),
    ]);
    expect(await expandGlob(join(dir, 'send', '*.log'), localFs)).toEqual([join(dir, 'send', 'a.log')]);
    expect(await expandGlob(join(dir, 'send', '.*.log'), localFs)).toEqual([
      join(dir, 'send', '.hidden.log'),
    ]);
    expect(await expandGlob(join(dir, 'absent', '*.log'), localFs)).toEqual([]);
  });
});
