/**
 * Postfix: every daemon's lines, dispatched by the daemon name, the last segment of the syslog tag
 * (`postfix/smtpd`, `postfix/submission/smtpd`, `postfix-out/qmgr`, `postfix-170.55.103.23/cleanup`).
 * One small module per daemon; what they share (queue ids, clients, the from/to/proto/helo tail) is in
 * shared.ts.
 */
import type { MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';
import { parseCleanup } from './cleanup.js';
import { deliveryLine, parseDeliveryAgent, parseSmtpClient } from './delivery.js';
import { parseDnsblog, parsePostscreen, parseTlsproxy } from './postscreen.js';
import { parseBounce, parsePickup, parsePostsuper, parseQmgr } from './queue.js';
import { info, isVerboseTrace, queueIdEnd, readClient, severityLine } from './shared.js';
import { parseSmtpd } from './smtpd.js';

type DaemonParser = (text: string) => MailEvent | null;

/** Programs that only report on themselves (start/stop, statistics, configuration trouble). */
const SELF_REPORTING = new Set([
  'master',
  'postfix-script',
  'postfix',
  'anvil',
  'scache',
  'tlsmgr',
  'verify',
  'trivial-rewrite',
  'proxymap',
  'flush',
  'postlog',
  'postlogd',
  'postmap',
  'postalias',
  'postqueue',
  'postdrop',
  'sendmail',
  'postconf',
  'postmulti',
  'postkick',
  'postlock',
  'postcat',
  'showq',
  'spawn',
]);

/** Lines any long-running daemon writes about its own process. */
const PROCESS_LINES = [
  'daemon started',
  'reload ',
  'terminating on signal',
  'idle timeout -- exiting',
  'master disconnect -- exiting',
  'connection established',
  'connection closed',
  'process generation',
  'Compiled against ',
  'Run-time linked against ',
  'starting the Postfix mail system',
  'stopping the Postfix mail system',
  'refreshing the Postfix mail system',
];

function processLine(text: string): boolean {
  if (text.endsWith(' has changed -- restarting')) return true;
  for (const prefix of PROCESS_LINES) {
    if (text.startsWith(prefix)) return true;
  }
  return false;
}

/** Label for a self-reporting daemon's line. */
function selfReport(daemon: string, text: string): MailEvent {
  const severity = severityLine(text);
  if (severity !== null) return severity;
  if (text.startsWith('statistics: ')) return info('statistics');
  if (processLine(text)) return info('daemon');
  const colon = queueIdEnd(text);
  return info(daemon, colon > 0 ? text.slice(0, colon) : undefined);
}

function parserFor(daemon: string): DaemonParser {
  switch (daemon) {
    case 'smtpd':
      return parseSmtpd;
    case 'postscreen':
      return parsePostscreen;
    case 'dnsblog':
      return parseDnsblog;
    case 'tlsproxy':
      return parseTlsproxy;
    case 'cleanup':
      return parseCleanup;
    case 'qmgr':
    case 'oqmgr':
    case 'nqmgr':
      return parseQmgr;
    case 'pickup':
      return parsePickup;
    case 'postsuper':
      return parsePostsuper;
    case 'bounce':
    case 'defer':
    case 'trace':
      return parseBounce;
    case 'smtp':
    case 'lmtp':
      return (text) => parseSmtpClient(text, daemon);
    default:
      if (SELF_REPORTING.has(daemon)) return (text) => selfReport(daemon, text);
      // local, virtual, pipe, error, retry, discard and custom delivery services (master.cf names).
      return (text) => parseDeliveryAgent(text, daemon);
  }
}

/**
 * What no daemon module claimed: warnings and other severities, delivery lines from daemons not known to
 * write them, process life, and verbose traces.
 */
function fallback(text: string, daemon: string): MailEvent | null {
  const severity = severityLine(text);
  if (severity !== null) return severity;
  const delivery = deliveryLine(text, daemon);
  if (delivery !== null) return delivery;
  if (processLine(text)) return info('daemon');
  if (text.startsWith('using backwards-compatible default setting ')) {
    // Postfix 3.x compatibility_level notices, sometimes `... for client [ip]:port`.
    const forClient = text.indexOf(' for client ');
    return info(
      'compatibility',
      undefined,
      forClient < 0 ? undefined : readClient(text, forClient + 12)?.client,
    );
  }
  const colon = queueIdEnd(text);
  if (colon > 0 ? isVerboseTrace(text.slice(colon + 2)) : isVerboseTrace(text)) {
    return info('debug', colon > 0 ? text.slice(0, colon) : undefined);
  }
  return null;
}

/**
 * Text as the daemon wrote it: without Solaris syslog's `[ID 197553 mail.info] ` message-id prefix and
 * without trailing whitespace or commas (CSV exports of logs pad lines with `,,,,`).
 */
function cleanText(text: string): string {
  let start = 0;
  if (text.charCodeAt(0) === 91 && text.startsWith('[ID ')) {
    const close = text.indexOf('] ');
    if (close > 0 && close < 64) start = close + 2;
  }
  let end = text.length;
  while (end > start) {
    const c = text.charCodeAt(end - 1);
    if (c !== 44 && c !== 32 && c !== 13 && c !== 9) break;
    end--;
  }
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function daemonOf(program: string): string {
  return program.slice(program.lastIndexOf('/') + 1);
}

interface Dispatch {
  daemon: string;
  parse: DaemonParser;
}

/** Distinct program names seen; bounded because the name comes from the log line. */
const MAX_CACHED_PROGRAMS = 1024;
const byProgram = new Map<string, Dispatch>();

/** The previous line's program: consecutive lines often come from the same daemon. */
let lastProgram = '';
let lastDispatch: Dispatch | undefined;

function dispatchFor(program: string): Dispatch {
  if (program === lastProgram && lastDispatch !== undefined) return lastDispatch;
  let dispatch = byProgram.get(program);
  if (dispatch === undefined) {
    const daemon = daemonOf(program);
    dispatch = { daemon, parse: parserFor(daemon) };
    if (byProgram.size >= MAX_CACHED_PROGRAMS) byProgram.clear();
    byProgram.set(program, dispatch);
  }
  lastProgram = program;
  lastDispatch = dispatch;
  return dispatch;
}

export const postfixParser: ProgramParser = {
  name: 'postfix',
  /** `postfix/<daemon>`, multi-instance and custom syslog names: the first path segment starts with `postfix`. */
  handles(program: string): boolean {
    return program.startsWith('postfix');
  },
  parse(frame: Frame): MailEvent | null {
    const text = cleanText(frame.text);
    if (text.length === 0) return null;
    const { daemon, parse } = dispatchFor(frame.program);
    return parse(text) ?? fallback(text, daemon);
  },
};
