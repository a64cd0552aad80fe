/**
 * ucspi-tcp's tcpserver (tcpserver.c; ucspi-ssl's sslserver writes the same lines) with `-v`, and
 * rblsmtpd (rblsmtpd.c), as they appear in a qmail-smtpd multilog:
 *
 *   tcpserver: status: 3/100                                  connections in use / limit
 *   tcpserver: pid 12345 from 192.0.2.1                       a child was forked for a client
 *   tcpserver: ok 12345 mx:192.0.2.10:25 client.example:192.0.2.1::51234   local host:ip:port, remote
 *                                                             host:ip:ident:port (ip may be IPv6)
 *   tcpserver: deny 12345 mx:192.0.2.10:25 :192.0.2.1::51234  refused by the rules database
 *   tcpserver: end 12345 status 0                             the child exited
 *   rblsmtpd: 192.0.2.1 pid 12345: 451 Blocked, look at http://...   refused: the client is listed
 *
 * The child's pid names the SMTP session (qmail-smtpd runs in it, through rblsmtpd's exec).
 */
import type { ClientRef, MailEvent } from '../../core/events.js';
import { digitsEnd } from '../qmail-send/scan.js';
import { info, ipOrUndefined, refusal, replyCode } from './shared.js';

const MAX_FIELD = 600;

/**
 * The remote field of `ok`/`deny`: `host:ip:ident:port`. Host names hold no `:`, an IPv6 address does:
 * the host ends at the first `:`, the port follows the last, the ident sits between the last two.
 */
export function remoteClient(field: string): ClientRef {
  const client: ClientRef = {};
  const first = field.indexOf(':');
  if (first < 0 || field.length > MAX_FIELD) return client;
  if (first > 0) client.name = field.slice(0, first);
  const last = field.lastIndexOf(':');
  const portEnd = digitsEnd(field, last + 1);
  if (last > first && portEnd === field.length) {
    const port = Number(field.slice(last + 1));
    if (port <= 65535) client.port = port;
  }
  const identStart = last > first ? field.lastIndexOf(':', last - 1) : -1;
  const ip = ipOrUndefined(
    field.slice(first + 1, identStart > first ? identStart : last > first ? last : field.length),
  );
  if (ip !== undefined) client.ip = ip;
  return client;
}

interface ChildLine {
  pid: string;
  /** Index of the text after `PID ` (`from 192.0.2.1`, `local remote`, `status 0`). */
  rest: number;
}

function childLine(text: string, start: number): ChildLine | null {
  const end = digitsEnd(text, start);
  if (end < 0 || (end < text.length && text.charCodeAt(end) !== 32)) return null;
  return { pid: text.slice(start, end), rest: end + 1 };
}

/** `ok PID local remote` / `deny PID local remote`: the client of the session. */
function sessionClient(text: string, rest: number): ClientRef {
  const space = text.indexOf(' ', rest);
  return space < 0 ? {} : remoteClient(text.slice(space + 1));
}

/** A tcpserver/sslserver line, after its `tcpserver: ` prefix (at `start`). */
export function parseTcpserver(text: string, start: number, writer: string): MailEvent | null {
  if (text.startsWith('ok ', start)) {
    const line = childLine(text, start + 3);
    if (line === null) return null;
    return { kind: 'connect', client: sessionClient(text, line.rest), session: line.pid };
  }
  if (text.startsWith('end ', start)) {
    const line = childLine(text, start + 4);
    if (line === null) return null;
    return { kind: 'disconnect', client: {}, session: line.pid };
  }
  if (text.startsWith('pid ', start)) {
    const line = childLine(text, start + 4);
    if (line === null) return null;
    const ip = text.startsWith('from ', line.rest) ? ipOrUndefined(text.slice(line.rest + 5)) : undefined;
    return info('connection', ip === undefined ? undefined : { ip });
  }
  if (text.startsWith('deny ', start)) {
    const line = childLine(text, start + 5);
    if (line === null) return null;
    const event = refusal(`${writer}: access denied by the rules`, 'CONNECT', line.pid);
    event.client = sessionClient(text, line.rest);
    return event;
  }
  // `status: 3/100`, and the program's own `fatal:`/`warning:` lines.
  return info(writer);
}

/**
 * rblsmtpd (ucspi-tcp): `IP pid PID: MESSAGE`, where MESSAGE is the reply it gives every command
 * (`451 ...` or `553 ...`); some builds name the list before the colon: `IP pid PID list.example: 451 ...`.
 * An older rblsmtpd wrote `rbl.example blocked IP host -`. fehcom's ucspi-tcp6 rblsmtpd also logs
 * `IP pid PID: greetdelay: 30` and `IP pid PID: [RBL info] text`, which refuse nothing.
 */
export function parseRblsmtpd(text: string, start: number): MailEvent | null {
  const space = text.indexOf(' ', start);
  if (space < 0 || space - start > 64) return null;
  if (text.startsWith(' pid ', space)) {
    const pidEnd = digitsEnd(text, space + 5);
    const colon = pidEnd < 0 ? -1 : text.indexOf(': ', pidEnd);
    if (colon < 0) return null;
    const ip = ipOrUndefined(text.slice(start, space));
    // fehcom's rblsmtpd also logs `greetdelay: 30` and `[RBL info] ...`, which refuse nothing.
    if (replyCode(text, colon + 2) === undefined)
      return info('rblsmtpd', ip === undefined ? undefined : { ip });
    const event = refusal(text.slice(colon + 2), 'CONNECT', text.slice(space + 5, pidEnd));
    if (colon > pidEnd) event.reason = `${text.slice(pidEnd + 1, colon)}: ${event.reason}`.slice(0, 1000);
    if (ip !== undefined) event.client = { ip };
    return event;
  }
  if (text.startsWith(' blocked ', space)) {
    const ipEnd = text.indexOf(' ', space + 9);
    const ip = ipOrUndefined(text.slice(space + 9, ipEnd < 0 ? text.length : ipEnd));
    const event = refusal(`listed in ${text.slice(start, space)}`, 'CONNECT');
    if (ip !== undefined) event.client = { ip };
    return event;
  }
  return null;
}
