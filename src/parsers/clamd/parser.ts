/**
 * ClamAV clamd (clamd/scanner.c, clamd/server-th.c, clamd/clamd.c). A detection is
 * `logg("%s: %s FOUND\n", target, virname)`, or `%s: %s(%s:%llu) FOUND` (hash and size) with
 * `ExtendedDetectionInfo yes`. The target is a file path (amavis scans its temp dir with CONTSCAN or
 * MULTISCAN: `/var/lib/amavis/tmp/amavis-20261128T100000-12345-AbCdEf/parts/p002`), `instream(local)` or
 * `instream(127.0.0.1@45678)` for INSTREAM, `fd[10]` for FILDES, `stream(127.0.0.1@45678)` for the old
 * STREAM command. In clamd's own `LogFile` the same text follows `Sat Nov 28 10:00:00 2026 -> `.
 */
import { bound, type InfoEvent, type MailEvent, type VirusFoundEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';

const SCANNER = 'clamav';
const MAX_TARGET = 4096;
const MAX_VIRUS = 512;

function info(label: string): InfoEvent {
  return { kind: 'info', label };
}

/** `Eicar-Test-Signature(44d88612fea8a8f36de82e1278abb02f:68)`: the name without hash and size. */
const EXTENDED_INFO = /\([0-9a-f]{32,64}:\d+\)$/;

/**
 * amavisd-new's per-message temp dir: `amavis-20070602T073014-06432` (pid zero-padded, before 2.6) or
 * `amavis-20261128T100000-12345-AbCdEf` (with a random suffix). The pid names the amavis child that
 * logs the message's verdict.
 */
const AMAVIS_TEMP_DIR = /\/amavis-\d{8}T\d{6}-(\d{1,10})(?:[-/]|$)/;

function parseFound(text: string): VirusFoundEvent | null {
  const end = text.length - 6; // before ` FOUND`
  const sep = text.lastIndexOf(': ', end);
  if (sep <= 0) return null;
  let virus = text.slice(sep + 2, end);
  const extended = EXTENDED_INFO.exec(virus);
  if (extended !== null) virus = virus.slice(0, extended.index);
  if (virus === '' || virus.includes(' ')) return null;
  const target = text.slice(0, sep);
  const event: VirusFoundEvent = {
    kind: 'virus-found',
    scanner: SCANNER,
    virus: bound(virus, MAX_VIRUS),
    target: bound(target, MAX_TARGET),
  };
  const amavis = AMAVIS_TEMP_DIR.exec(target);
  if (amavis !== null) event.amavisPid = Number(amavis[1]);
  return event;
}

/** Start-up, reload and shutdown lines (clamd.c, server-th.c, others.c), by prefix. */
const PREFIXES: readonly (readonly [string, string])[] = [
  ['SelfCheck: ', 'selfcheck'],
  ['+++ Started at ', 'startup'],
  ['clamd daemon ', 'startup'],
  ['Received ', 'startup'],
  ['Log file size ', 'startup'],
  ['Running as user ', 'startup'],
  ['Not loading PUA', 'startup'],
  ['Loading ', 'startup'],
  ['Loaded ', 'startup'],
  ['Bytecode: ', 'startup'],
  ['TCP: ', 'startup'],
  ['LOCAL: ', 'startup'],
  ['Limits: ', 'startup'],
  ['Self checking every ', 'startup'],
  ['Listening daemon: ', 'startup'],
  ['MaxQueue set to', 'startup'],
  ['Reading databases from ', 'database'],
  ['Database correctly reloaded', 'database'],
  ['Database reload', 'database'],
  ['Activating the newly loaded database', 'database'],
  ['Reloading database', 'database'],
  ['No stats for Database check', 'database'],
  ['--- Stopped at ', 'shutdown'],
  ['Pid file removed', 'shutdown'],
  ['Socket file removed', 'shutdown'],
  ['Waiting for all threads to finish', 'shutdown'],
  ['Shutting down the main sockets', 'shutdown'],
  ['Closing the main sockets', 'shutdown'],
  ['SIGHUP caught', 'reload'],
  ['WARNING: ', 'warning'],
  ['ERROR: ', 'error'],
  // In syslog clamd leaves out its `WARNING: `/`ERROR: ` prefix (the priority says it).
  ['File path check failure', 'warning'],
  ['lstat() failed', 'warning'],
  ["Can't ", 'error'],
];

function parseText(text: string): MailEvent | null {
  if (text.endsWith(' FOUND')) return parseFound(text);
  if (text.endsWith(': OK')) return info('clean');
  if (text.endsWith(' ERROR')) return info('error');
  for (const [prefix, label] of PREFIXES) {
    if (text.startsWith(prefix)) return info(label);
  }
  // Engine options at start-up: `Archive support enabled.`, `AlertExceedsMax heuristic detection disabled.`
  if (text.endsWith(' enabled.') || text.endsWith(' disabled.')) return info('startup');
  return null;
}

export const clamdParser: ProgramParser = {
  name: 'clamd',
  handles(program: string): boolean {
    return program === 'clamd' || program.endsWith('/clamd');
  },
  parse(frame: Frame): MailEvent | null {
    return parseText(frame.text);
  },
};
