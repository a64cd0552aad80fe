/**
 * chkuser (vpopmail recipient check for qmail-smtpd, chkuser.c `chkuser_commonlog()`, 2.0.x):
 *
 *   CHKUSER rejected rcpt: from <a@x.org:remoteinfo:identify> remote <mail.x.org:client.x.org:192.0.2.1> rcpt <b@y.org> : not existing recipient
 *
 * chkuser 2.0.9 as patched in many distributions (sagredo's qmail) labels the parts instead:
 *
 *   CHKUSER rejected rcpt: from <a@x.org|remoteinfo/auth:|chkuser-identify:> remote <helo:h|remotehostname:n|remotehostip:192.0.2.1> rcpt <b@y.org> : not existing recipient
 *
 * The brief message is `accepted rcpt`, `accepted any rcpt`, `relaying rcpt`, `accepted sender`,
 * `accepted doublebounce`, `intrusion threshold` (the client goes on) or `rejected rcpt`,
 * `rejected relaying`, `rejected intrusion`, `rejected sender`, `no auth resource`, `must auth`,
 * `mbx overquota` (the command is refused). Sender checks log an empty `rcpt <>`. The line names no
 * process, so it is not tied to its session.
 */
import { normalizeAddress } from '../../core/address.js';
import { bound, type ClientRef, type MailEvent } from '../../core/events.js';
import { info, ipOrUndefined, refusal } from './shared.js';

const REFUSALS = new Set(['no auth resource', 'must auth', 'mbx overquota']);

interface Remote {
  client: ClientRef;
  helo?: string;
}

/** `helo:h|remotehostname:n|remotehostip:ip` (labelled) or `HELO:host:ip` (2.0.x, the values only). */
function remoteOf(text: string): Remote {
  const client: ClientRef = {};
  let helo: string;
  let name: string;
  let ip: string;
  if (text.includes('|remotehostip:')) {
    const parts = text.split('|', 3);
    helo = (parts[0] ?? '').replace(/^helo:/, '');
    name = (parts[1] ?? '').replace(/^remotehostname:/, '');
    ip = (parts[2] ?? '').replace(/^remotehostip:/, '');
  } else {
    // `HELO:host:ip`: the address (IPv6 too) is what follows the second colon.
    const first = text.indexOf(':');
    const second = first < 0 ? -1 : text.indexOf(':', first + 1);
    if (second < 0) return { client };
    helo = text.slice(0, first);
    name = text.slice(first + 1, second);
    ip = text.slice(second + 1);
  }
  if (name !== '' && name !== 'unknown') client.name = bound(name, 255);
  const address = ipOrUndefined(ip);
  if (address !== undefined) client.ip = address;
  const remote: Remote = { client };
  if (helo !== '') remote.helo = bound(helo, 512);
  return remote;
}

/** The sender part: the address before `|remoteinfo...` (labelled) or before the first `:` (2.0.x). */
function senderOf(text: string): string {
  const bar = text.indexOf('|remoteinfo');
  if (bar >= 0) return normalizeAddress(text.slice(0, bar));
  const colon = text.indexOf(':');
  return normalizeAddress(colon < 0 ? text : text.slice(0, colon));
}

/** A CHKUSER line after `CHKUSER ` (at `start`). */
export function parseChkuser(text: string, start: number): MailEvent | null {
  const fromAt = text.indexOf(': from <', start);
  const remoteAt = fromAt < 0 ? -1 : text.indexOf('> remote <', fromAt);
  const rcptAt = remoteAt < 0 ? -1 : text.indexOf('> rcpt <', remoteAt);
  if (rcptAt < 0 || fromAt - start > 64) return null;
  const rcptEnd = text.indexOf('> : ', rcptAt);
  const title = text.slice(start, fromAt);
  const remote = remoteOf(text.slice(remoteAt + 10, rcptAt));
  const rejected = title.startsWith('rejected') || REFUSALS.has(title);
  if (!rejected) return info('chkuser', remote.client);
  const rcpt = normalizeAddress(text.slice(rcptAt + 8, rcptEnd < 0 ? text.length : rcptEnd));
  const description = rcptEnd < 0 ? '' : text.slice(rcptEnd + 4);
  const event = refusal(
    description === '' ? title : `${title}: ${description}`,
    rcpt === '' ? 'MAIL' : 'RCPT',
  );
  event.from = senderOf(text.slice(fromAt + 8, remoteAt));
  if (rcpt !== '') event.to = rcpt;
  event.client = remote.client;
  if (remote.helo !== undefined) event.helo = remote.helo;
  return event;
}
