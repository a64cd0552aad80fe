/**
 * The Postfix site's line shapes (test support): one regex per kind of line the generator writes for
 * Postfix, postscreen, amavisd-new, clamd, spamd and Dovecot, matched against `program[pid]: text`.
 * Each is grounded in real lines (fixtures/real-lines.txt); the qmail site's tests reuse them for
 * lists1 and mbox1.
 */

export const QID = '[0-9A-F]{10,12}';
export const ADDR = '[^<>\\s]*';
export const IP = '[0-9a-fA-F:.]+';
export const HOSTIP = `[^\\s\\[\\]]+\\[${IP}\\]`;
export const PORTIP = `\\[${IP}\\]:\\d+`;
export const MID = '[^<>\\s]+';
export const TAIL = `from=<${ADDR}> to=<${ADDR}> proto=E?SMTP helo=<.*>`;
export const STAMP = '[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d';
export const SESSION = '[\\w+/:]+';

/** One regex per kind of line the generator writes, matched against `program[pid]: text`. */
export const SHAPES: Record<string, RegExp> = Object.fromEntries(
  Object.entries({
    'postscreen-connect': `postfix/postscreen\\[\\d+\\]: CONNECT from ${PORTIP} to \\[${IP}\\]:25`,
    'postscreen-pass': `postfix/postscreen\\[\\d+\\]: PASS (OLD|NEW) ${PORTIP}`,
    'postscreen-dnsbl-rank': `postfix/postscreen\\[\\d+\\]: DNSBL rank \\d+ for ${PORTIP}`,
    'postscreen-reject': `postfix/postscreen\\[\\d+\\]: NOQUEUE: reject: RCPT from ${PORTIP}: 550 5\\.7\\.1 Service unavailable; client \\[${IP}\\] blocked using [a-z.]+; from=<${ADDR}>, to=<${ADDR}>, proto=E?SMTP, helo=<.*>`,
    'postscreen-disconnect': `postfix/postscreen\\[\\d+\\]: DISCONNECT ${PORTIP}`,
    'postscreen-pregreet': `postfix/postscreen\\[\\d+\\]: PREGREET \\d+ after [\\d.]+ from ${PORTIP}: .*\\\\r\\\\n`,
    'postscreen-hangup': `postfix/postscreen\\[\\d+\\]: HANGUP after [\\d.]+ from ${PORTIP} in tests (after|before) SMTP handshake`,
    dnsblog: `postfix/dnsblog\\[\\d+\\]: addr ${IP} listed by domain [a-z.]+ as 127\\.0\\.\\d+\\.\\d+`,
    'smtpd-connect': `postfix/(submission/)?smtpd\\[\\d+\\]: connect from ${HOSTIP}`,
    'smtpd-tls': `postfix/(submission/)?smtpd\\[\\d+\\]: Anonymous TLS connection established from ${HOSTIP}: TLSv1\\.[23] with cipher \\S+ \\(\\d+/\\d+ bits\\)( key-exchange .*)?`,
    'smtpd-client': `postfix/(submission/)?smtpd\\[\\d+\\]: ${QID}: client=${HOSTIP}(, sasl_method=(PLAIN|LOGIN), sasl_username=\\S+)?`,
    'smtpd-reject-unknown': `postfix/smtpd\\[\\d+\\]: (NOQUEUE|${QID}): reject: RCPT from ${HOSTIP}: 550 5\\.1\\.1 <${ADDR}>: Recipient address rejected: User unknown in virtual mailbox table; ${TAIL}`,
    'smtpd-reject-rbl': `postfix/smtpd\\[\\d+\\]: NOQUEUE: reject: RCPT from ${HOSTIP}: 554 5\\.7\\.1 Service unavailable; Client host \\[${IP}\\] blocked using [a-z.]+; [^;]+; ${TAIL}`,
    'smtpd-disconnect': `postfix/(submission/)?smtpd\\[\\d+\\]: disconnect from ${HOSTIP}( [a-z]+=\\d+(/\\d+)?)* commands=\\d+(/\\d+)?`,
    'smtpd-lost': `postfix/(submission/)?smtpd\\[\\d+\\]: lost connection after [A-Z]+ from ${HOSTIP}`,
    'smtpd-no-resolve': `postfix/smtpd\\[\\d+\\]: warning: hostname \\S+ does not resolve to address ${IP}(: Name or service not known)?`,
    'smtpd-sasl-failed': `postfix/(submission/)?smtpd\\[\\d+\\]: warning: ${HOSTIP}: SASL (LOGIN|PLAIN) authentication failed: authentication failure`,
    'cleanup-message-id': `postfix/cleanup\\[\\d+\\]: ${QID}: message-id=<${MID}>`,
    'cleanup-header-warning': `postfix/cleanup\\[\\d+\\]: ${QID}: warning: header Subject: .* from ${HOSTIP}; ${TAIL}`,
    'cleanup-milter-reject': `postfix/cleanup\\[\\d+\\]: ${QID}: milter-reject: END-OF-MESSAGE from ${HOSTIP}: [45]\\.\\d\\.\\d .+; ${TAIL}`,
    'qmgr-active': `postfix/qmgr\\[\\d+\\]: ${QID}: from=<${ADDR}>, size=\\d+, nrcpt=\\d+ \\(queue active\\)`,
    'qmgr-removed': `postfix/qmgr\\[\\d+\\]: ${QID}: removed`,
    'qmgr-expired': `postfix/qmgr\\[\\d+\\]: ${QID}: from=<${ADDR}>, status=expired, returned to sender`,
    delivery: `postfix/(smtp|lmtp|error)\\[\\d+\\]: ${QID}: to=<${ADDR}>, (orig_to=<${ADDR}>, )?relay=(none|\\S+\\[[^\\]]+\\](:\\d+)?), delay=\\d+(\\.\\d+)?, delays=[\\d.]+/[\\d.]+/[\\d.]+/[\\d.]+, dsn=[245]\\.\\d+\\.\\d+, status=(sent|deferred|bounced) \\(.+\\)`,
    'smtp-tls': `postfix/smtp\\[\\d+\\]: (Trusted|Verified|Untrusted|Anonymous) TLS connection established to \\S+\\[[^\\]]+\\]:\\d+: TLSv1\\.[23] with cipher \\S+ \\(\\d+/\\d+ bits\\)( key-exchange .*)?`,
    'bounce-ndn': `postfix/bounce\\[\\d+\\]: ${QID}: sender non-delivery notification: ${QID}`,
    anvil: `postfix/anvil\\[\\d+\\]: statistics: max (connection (rate \\d+/60s|count \\d+) for \\([a-z]+:${IP}\\)|cache size \\d+) at ${STAMP}`,
    'amavis-passed': `amavis\\[\\d+\\]: \\(\\d{5,}-\\d{2,}\\) Passed (CLEAN \\{RelayedInbound\\}|SPAMMY \\{RelayedTaggedInbound\\}), \\[${IP}\\]:\\d+ \\[${IP}\\] <${ADDR}> -> <${ADDR}>(,<${ADDR}>)*, Queue-ID: ${QID}, Message-ID: <${MID}>, mail_id: [\\w-]{12}, Hits: (-|-?\\d+(\\.\\d+)?), size: \\d+, queued_as: ${QID}(, dkim_sd=\\S+)?, \\d+ ms`,
    'amavis-blocked': `amavis\\[\\d+\\]: \\(\\d{5,}-\\d{2,}\\) Blocked (INFECTED \\([^)]+\\)|SPAM) \\{DiscardedInbound,Quarantined\\}, \\[${IP}\\]:\\d+( \\[${IP}\\])? <${ADDR}> -> <${ADDR}>(,<${ADDR}>)*, quarantine: \\S+, Queue-ID: ${QID}, Message-ID: <${MID}>, mail_id: [\\w-]{12}, Hits: (-|-?\\d+(\\.\\d+)?), size: \\d+(, dkim_sd=\\S+)?, \\d+ ms`,
    'amavis-rundown': `amavis\\[\\d+\\]: \\(\\d{5,}-\\d{2,}\\) Requesting process rundown after \\d+ tasks \\(and \\d+ sessions\\)`,
    'clamd-found': `clamd\\[\\d+\\]: /\\S+/amavis-\\d{8}T\\d{6}-\\d+-\\w+/parts/p\\d{3}: \\S+ FOUND`,
    'clamd-selfcheck': `clamd\\[\\d+\\]: SelfCheck: Database status OK\\.`,
    'spamd-connection': `spamd\\[\\d+\\]: spamd: connection from \\S+ \\[${IP}\\]:\\d+ to port 783, fd \\d+`,
    'spamd-processing': `spamd\\[\\d+\\]: spamd: processing message <${MID}> for [\\w-]+:\\d+`,
    'spamd-verdict': `spamd\\[\\d+\\]: spamd: (clean message|identified spam) \\(-?\\d+\\.\\d/\\d+\\.\\d\\) for [\\w-]+:\\d+ in \\d+\\.\\d seconds, \\d+ bytes\\.`,
    'spamd-result': `spamd\\[\\d+\\]: spamd: result: [Y.] {1,2}-?\\d+ - [A-Z0-9_,]* scantime=\\d+\\.\\d,size=\\d+,user=[\\w-]+,uid=\\d+,required_score=\\d+\\.\\d,rhost=\\S+,raddr=${IP},rport=\\d+,mid=<${MID}>,(bayes=\\d\\.\\d{6},)?autolearn=\\w+( autolearn_force=no)?`,
    'spamd-prefork': `spamd\\[\\d+\\]: prefork: child states: [A-Z]+`,
    'spamd-spawned': `spamd\\[\\d+\\]: spamd: server successfully spawned child process, pid \\d+`,
    'dovecot-lmtp-connect': `dovecot: lmtp\\(\\d+\\): Connect from local`,
    'dovecot-lmtp-saved': `dovecot: lmtp\\([^)\\s]+\\)<\\d+><${SESSION}>: msgid=<${MID}>: saved mail to INBOX`,
    'dovecot-lmtp-sieve': `dovecot: lmtp\\([^)\\s]+\\)<\\d+><${SESSION}>: sieve: msgid=<${MID}>: stored mail into mailbox '[^']+'`,
    'dovecot-lmtp-quota': `(dovecot: lmtp|deliver)\\([^)\\s]+\\)(<\\d+><${SESSION}>)?: msgid=<${MID}>: save failed to INBOX: Quota exceeded \\(mailbox for user is full\\)`,
    'dovecot-lmtp-disconnect': `dovecot: lmtp\\(\\d+\\): Disconnect from local: Client has quit the connection \\(state=READY\\)`,
    'dovecot-login': `dovecot: (imap|submission)-login: Login: user=<[^>]+>, method=PLAIN, rip=${IP}, lip=${IP}, mpid=\\d+, TLS, session=<[\\w+/]+>`,
    'dovecot-imap-end': `dovecot: imap\\([^)\\s]+\\)<\\d+><[\\w+/]+>: (Logged out|Connection closed \\(.*\\)|Disconnected for inactivity) in=\\d+ out=\\d+ deleted=\\d+ expunged=\\d+ trashed=\\d+ hdr_count=\\d+ hdr_bytes=\\d+ body_count=\\d+ body_bytes=\\d+`,
    'dovecot-auth-fail': `dovecot: auth: ldap\\([^,]+,${IP},<[\\w+/]+>\\): (Password mismatch \\(for LDAP bind\\)|unknown user)( \\(SHA1 of given password: \\w+\\))?`,
    'dovecot-aborted': `(dovecot: )?imap-login: (Info: )?Disconnected: Aborted login \\(auth failed, \\d+ attempts in \\d+ secs\\): user=<[^>]+>, method=PLAIN, rip=${IP}, lip=${IP}, TLS, session=<[\\w+/]+>`,
  }).map(([name, source]) => [name, new RegExp(`^${source}$`)]),
);

/** A syslog header (classic or RFC 3339), if any: the rest is `program[pid]: text`. */
export const ANY_HEADER =
  /^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (?:[^\s:]+ )?|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d\d:\d\d \S+ )/;

export function shapeOf(text: string): string | null {
  for (const [name, rx] of Object.entries(SHAPES)) if (rx.test(text)) return name;
  return null;
}
