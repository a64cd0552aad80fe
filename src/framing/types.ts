/**
 * Framing settings for one stream of lines (a file, a followed file, a syslog connection).
 * Every source goes through the same framing (framing/index.ts), so a line reads the same whichever
 * way it arrived.
 */

/**
 * `auto` detects the header per line. The others force one header shape:
 * - `rfc3164`: `Nov 28 10:00:00 host prog[pid]: text` (classic syslog, no year, no zone);
 * - `rfc3339`: `2026-11-28T10:00:00.123456+01:00 host prog[pid]: text` (rsyslog high precision);
 * - `rfc5424`: `<PRI>1 2026-11-28T10:00:00Z host app procid msgid [sd] text`;
 * - `multilog`: `@4000000069...  text` (daemontools tai64n; host and program from settings);
 * - `postfix-maillog`: Postfix's own `maillog_file` (postlogd);
 * - `dovecot`: Dovecot's `log_path` file (`Nov 28 10:00:00 imap-login: Info: ...`);
 * - `clamd`: clamd's `LogFile` (`Sat Nov 28 10:00:00 2026 -> text`).
 */
export type LogFormat =
  | 'auto'
  | 'rfc3164'
  | 'rfc3339'
  | 'rfc5424'
  | 'multilog'
  | 'postfix-maillog'
  | 'dovecot'
  | 'clamd';

export const LOG_FORMATS: readonly LogFormat[] = [
  'auto',
  'rfc3164',
  'rfc3339',
  'rfc5424',
  'multilog',
  'postfix-maillog',
  'dovecot',
  'clamd',
];

export interface FramingOptions {
  /** Source name recorded in each line's origin. */
  source: string;
  /** File path recorded in each line's origin. */
  file: string;
  /** Identity of the stream (see Origin.stream), recorded in each line's origin when given. */
  stream?: string;
  format: LogFormat;
  /**
   * `auto`: each line is UTF-8 when it is valid UTF-8, else Windows-1252 (a superset of Latin-1 for
   * printable bytes). Any other value is an encoding label iconv-lite knows (`latin1`, `iso-8859-15`...).
   */
  encoding: string;
  /** IANA time zone for headers without an offset (RFC 3164, Dovecot, clamd). Default: the system's. */
  timeZone?: string;
  /** Host for lines whose header carries none (multilog, Dovecot and clamd log files). */
  host?: string;
  /** Program for lines whose header carries none (multilog). */
  program?: string;
  /**
   * For headers without a year (RFC 3164, Dovecot): a time known to be at or after the stream's
   * last line, such as the file's modification time, or now when following. Default: now.
   */
  referenceTime?: number;
}
