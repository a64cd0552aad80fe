/**
 * The qmail-smtpd service log. Under daemontools every program of the service writes to the same
 * multilog, and each names itself at the start of its line: tcpserver (or sslserver), rblsmtpd,
 * simscan (run as QMAILQUEUE), chkuser (`CHKUSER ...`), qmail-smtpd's logging patches, and the
 * `mail recv:`/`policy_check:` lines of some distributions. Imported with `--program qmail-smtpd`;
 * through syslog the same lines come after a splogger stamp, or under the writer's own tag
 * (`rblsmtpd: ...` with the prefix taken as the program).
 *
 * Sessions are named by the tcpserver child's pid (`ok PID`, `end PID`, rblsmtpd's `pid PID`,
 * simscan's `[PID]`, s/qmail's `qmail-smtpd: pid PID`), not by the line's syslog pid.
 */
import type { MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import { withoutSploggerStamp } from '../qmail-send/splogger.js';
import type { ProgramParser } from '../types.js';
import { parseChkuser } from './chkuser.js';
import { info, replyCode } from './shared.js';
import { parseSimscan } from './simscan.js';
import { parseQmailSmtpd } from './smtpd.js';
import { parseRblsmtpd, parseTcpserver } from './tcpserver.js';

/** One line of the service log, its writer named at its start; null when no writer is recognised. */
export function parseSmtpdText(text: string): MailEvent | null {
  switch (text.charCodeAt(0)) {
    case 116 /* t */:
      return text.startsWith('tcpserver: ') ? parseTcpserver(text, 11, 'tcpserver') : null;
    case 115 /* s */:
      if (text.startsWith('simscan:')) return parseSimscan(text, 8);
      if (text.startsWith('sslserver: ')) return parseTcpserver(text, 11, 'sslserver');
      return null;
    case 114 /* r */:
      return text.startsWith('rblsmtpd: ') ? parseRblsmtpd(text, 10) : null;
    case 113 /* q */:
      return text.startsWith('qmail-smtpd: ') ? parseQmailSmtpd(text, 13) : null;
    case 67 /* C */:
      return text.startsWith('CHKUSER ') ? parseChkuser(text, 8) : null;
    case 82 /* R */:
    case 65 /* A */:
      // SPAMCONTROL builds that log without the program name.
      return text.startsWith('Reject::') || text.startsWith('Accept::') ? parseQmailSmtpd(text, 0) : null;
    case 109 /* m */:
      // `mail recv: pid 4711 from <a@x.org> qp 4712`: qmail-smtpd queued a message by that process.
      return text.startsWith('mail recv: ') ? info('mail-recv') : null;
    case 112 /* p */:
      return text.startsWith('policy_check: ') ? info('policy-check') : null;
    default:
      return null;
  }
}

/** A line under a writer's own tag (syslog `rblsmtpd[123]: ...`), which framing took as the program. */
function parseUnderOwnTag(program: string, text: string): MailEvent | null {
  switch (program) {
    case 'tcpserver':
    case 'sslserver':
      return parseTcpserver(text, 0, program);
    case 'rblsmtpd':
      return parseRblsmtpd(text, 0);
    case 'simscan':
      return text.startsWith('[') || text.startsWith(' ') ? parseSimscan(text, 0) : null;
    default:
      // `qmail-smtpd[4711]: 553 sorry, ...` through syslog: a reply-logging patch without its prefix.
      return replyCode(text) !== undefined || text.startsWith('pid ') ? parseQmailSmtpd(text, 0) : null;
  }
}

const WRITERS = new Set(['tcpserver', 'sslserver', 'rblsmtpd', 'simscan']);

export const qmailSmtpdParser: ProgramParser = {
  name: 'qmail-smtpd',
  handles(program: string): boolean {
    // `qmail-smtpd`, and per-service names such as `qmail-smtpd-ssl` or `qmail-smtpd-587`.
    return program.startsWith('qmail-smtpd') || WRITERS.has(program);
  },
  parse(frame: Frame): MailEvent | null {
    const text = withoutSploggerStamp(frame.text);
    return parseSmtpdText(text) ?? parseUnderOwnTag(frame.program, text);
  },
};
