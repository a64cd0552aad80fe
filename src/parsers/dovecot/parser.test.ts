import { describe, expect, it } from 'vitest';
import type { MailEvent } from '../../core/events.js';
import { coverage, fixtureLines, frame, frameLines, hasCorpus } from '../testing/corpus.js';
import { dovecotParser } from './parser.js';

/** The modoboa test log uses the publisher's `%(day)s` placeholder for the date. */
const withDate = (line: string): string => line.replace('%(day)s', 'Nov 16');

/** Real lines, framed by the real framing (multilog lines of the fail2ban log have no program tag). */
const realFrames = frameLines(fixtureLines(new URL('./fixtures/real.log', import.meta.url)).map(withDate), {
  program: 'dovecot',
});

function parseReal(fragment: string): MailEvent | null {
  const matches = realFrames.filter((f) => f.raw.includes(fragment));
  if (matches.length !== 1) throw new Error(`${matches.length} fixture lines contain ${fragment}`);
  const f = matches[0]!;
  expect(dovecotParser.handles(f.program)).toBe(true);
  return dovecotParser.parse(f);
}

/** Dovecot text as it follows `dovecot: ` in syslog. */
function parse(text: string): MailEvent | null {
  return dovecotParser.parse(frame('dovecot', text));
}

/** Every real fixture line: a fragment that picks it out, and the event it must give. */
const REAL: readonly (readonly [string, MailEvent])[] = [
  // --- deliveries
  [
    '<pPC9MGVcEmDoOgAAWP5Hkg>: msgid',
    {
      kind: 'mailbox-delivery',
      user: 'h-f16@h-ffeb17e38996c.com',
      messageId: 'h-e13b9e542677f148e385fc59c75afc08c78f6aa1@h-de82e022d99.com',
      mailbox: 'INBOX',
      outcome: 'saved',
      session: 'pPC9MGVcEmDoOgAAWP5Hkg',
      agent: 'lmtp',
    },
  ],
  [
    '<plg/GrF5EmAAPQAAWP5Hkg:2>',
    {
      kind: 'mailbox-delivery',
      user: 'h-f16@h-ffeb17e38996c.com',
      messageId: 'h-04a1785bcb66451fe5dfdb0d9c7f9c83c520@h-41665f.com',
      mailbox: 'INBOX',
      outcome: 'saved',
      // the second recipient of one LMTP transaction: Postfix's reply quotes the same `id:2`
      session: 'plg/GrF5EmAAPQAAWP5Hkg:2',
      agent: 'lmtp',
    },
  ],
  [
    'lmtp(original_sender@example1.com)',
    {
      kind: 'mailbox-delivery',
      user: 'original_sender@example1.com',
      messageId: 'CAJcL8KcWqtPC9aBbAViCcDpTCMGQFZ=vBPjhsqBiNOKR0hfU2w@mail.gmail.com',
      mailbox: 'INBOX',
      outcome: 'saved',
      session: 'AHQgLzhzaWJBPQAAAkqyCw',
      agent: 'lmtp',
    },
  ],
  [
    'lmtp(7132, test@assolive.com)',
    {
      kind: 'mailbox-delivery',
      user: 'test@assolive.com',
      messageId: '20150526180915.3A65FC0A56@hostname.assolive.com',
      mailbox: 'INBOX',
      outcome: 'saved',
      session: 'cp62NMu2ZFXcGwAAume3iQ',
      agent: 'lmtp',
    },
  ],
  [
    'z5FOLrRhDVpddgAABvoInA',
    {
      kind: 'mailbox-delivery',
      user: 'user@test.com',
      messageId: 'cm.2100050552286.huticd.jyidyhxuy.y@cmail19.com',
      mailbox: 'notifications',
      outcome: 'saved',
      session: 'z5FOLrRhDVpddgAABvoInA',
      agent: 'lmtp',
    },
  ],
  [
    'not sending reject message',
    {
      kind: 'mailbox-delivery',
      user: 'admin@test.com',
      messageId: '201711161006.vAGA6jpH019527@main.nope.org.es',
      outcome: 'rejected',
      detail: 'not sending reject message to <>',
      session: 'wUc3LDtjDVrkeQAABvoInA',
      agent: 'lmtp',
    },
  ],
  [
    'lda(allosaurus)',
    {
      kind: 'mailbox-delivery',
      user: 'allosaurus',
      messageId: '1411372801.459659.538183694@raptor.dinos.test',
      mailbox: 'INBOX',
      outcome: 'saved',
      agent: 'lda',
    },
  ],
  [
    'deliver(apatosaurus)',
    {
      kind: 'mailbox-delivery',
      user: 'apatosaurus',
      messageId: 'moodlepost1111@sauropoda.dinos.test',
      mailbox: 'INBOX',
      outcome: 'saved',
      agent: 'lda',
    },
  ],
  [
    'deliver(baryonyx)',
    {
      kind: 'mailbox-delivery',
      user: 'baryonyx',
      messageId: 'moodlepost1111@sauropoda.dinos.test',
      outcome: 'forwarded',
      detail: 'baryonyx@ceratops.dinos.test',
      agent: 'lda',
    },
  ],
  // --- logins
  [
    'user=<h-cff5713@h-ffeb17e38996c.com>, method=PLAIN',
    {
      kind: 'login',
      service: 'imap',
      user: 'h-cff5713@h-ffeb17e38996c.com',
      success: true,
      method: 'PLAIN',
      remoteIp: '217.65.140.135',
      localIp: '170.45.1.1',
    },
  ],
  [
    'user=<admin>, PID=12151',
    {
      kind: 'login',
      service: 'imap',
      user: 'admin',
      success: true,
      method: 'PLAIN',
      remoteIp: '192.168.0.1',
      localIp: '10.0.0.1',
    },
  ],
  [
    'Login: user=<test@yourdomain.net>',
    {
      kind: 'login',
      service: 'pop3',
      user: 'test@yourdomain.net',
      success: true,
      method: 'PLAIN',
      remoteIp: '172.17.0.1',
      localIp: '172.17.0.2',
    },
  ],
  [
    'Sep 13 00:03:15 imap-login: Info: Login:',
    {
      kind: 'login',
      service: 'imap',
      user: 'info@example.com',
      success: true,
      method: 'PLAIN',
      remoteIp: '203.0.113.207',
      localIp: '192.0.2.10',
    },
  ],
  [
    'user=<toto@toto.com>',
    {
      kind: 'login',
      service: 'imap',
      user: 'toto@toto.com',
      success: false,
      method: 'PLAIN',
      remoteIp: '1.1.1.1',
      localIp: '7.7.7.7',
      reason: 'Disconnected (auth failed, 1 attempts in 6 secs)',
    },
  ],
  [
    'user=<hess@lol.fr>',
    {
      kind: 'login',
      service: 'pop3',
      user: 'hess@lol.fr',
      success: false,
      method: 'PLAIN',
      remoteIp: '172.17.0.1',
      localIp: '172.17.0.2',
      reason: 'Disconnected: Connection closed (auth failed, 2 attempts in 30 secs)',
    },
  ],
  [
    'user=<hess@test.fr>',
    {
      kind: 'login',
      service: 'imap',
      user: 'hess@test.fr',
      success: false,
      method: 'PLAIN',
      remoteIp: '172.17.0.1',
      localIp: '172.17.0.2',
      reason: 'Disconnected: Aborted login by logging out (auth failed, 1 attempts in 15 secs)',
    },
  ],
  [
    'user=<hess@testnew.fr>',
    {
      kind: 'login',
      service: 'imap',
      user: 'hess@testnew.fr',
      success: false,
      remoteIp: '172.17.0.1',
      localIp: '172.17.0.2',
      reason: 'Disconnected: Too many invalid commands (auth failed, 1 attempts in 0 secs)',
    },
  ],
  [
    '(auth failed, 2 attempts in 0 secs): user=<test@yourdomain.net>',
    {
      kind: 'login',
      service: 'pop3',
      user: 'test@yourdomain.net',
      success: false,
      remoteIp: '172.17.0.1',
      localIp: '172.17.0.2',
      reason: 'Disconnected: Disconnected: Too many bad commands (auth failed, 2 attempts in 0 secs)',
    },
  ],
  [
    'user=<martin@waschbuesch.de>',
    {
      kind: 'login',
      service: 'imap',
      user: 'martin@waschbuesch.de',
      success: false,
      method: 'CRAM-MD5',
      remoteIp: '80.187.101.33',
      localIp: '80.254.129.240',
      reason: 'Aborted login (auth failed, 1 attempts)',
    },
  ],
  [
    'tried to use disabled plaintext auth',
    {
      kind: 'login',
      service: 'pop3',
      success: false,
      remoteIp: '190.210.136.21',
      localIp: '113.212.99.193',
      reason: 'Aborted login (tried to use disabled plaintext auth)',
    },
  ],
  [
    'user=<info>',
    {
      kind: 'login',
      service: 'pop3',
      user: 'info',
      success: false,
      method: 'PLAIN',
      remoteIp: '193.95.245.163',
      localIp: '176.214.13.210',
      reason: 'Disconnected: Inactivity (auth failed, 1 attempts)',
    },
  ],
  [
    'user=<test>, method=PLAIN, rip=192.0.2.241',
    {
      kind: 'login',
      service: 'imap',
      user: 'test',
      success: false,
      method: 'PLAIN',
      remoteIp: '192.0.2.241',
      localIp: '203.0.113.104',
      reason: 'Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed)',
    },
  ],
  [
    'managesieve-login: Login aborted',
    {
      kind: 'login',
      service: 'managesieve',
      user: 'user@domain',
      success: false,
      method: 'PLAIN',
      remoteIp: '192.0.2.241',
      localIp: '203.0.113.104',
      reason: 'Login aborted: Logged out (auth failed, 1 attempts in 10 secs) (auth_failed)',
    },
  ],
  [
    'user=<rtomes@acenet.com.au>',
    {
      kind: 'login',
      service: 'imap',
      user: 'rtomes@acenet.com.au',
      success: false,
      method: 'PLAIN',
      remoteIp: '192.0.2.4',
      localIp: '192.168.1.2',
      reason: 'Disconnected (proxy dest auth failed)',
    },
  ],
  [
    'read(size=1003) failed',
    {
      kind: 'login',
      service: 'imap',
      user: 'test@example.com',
      success: false,
      remoteIp: '192.0.2.4',
      localIp: '127.0.0.19',
      reason:
        'Disconnected: Connection closed: read(size=1003) failed: Connection reset by peer (auth failed, 1 attempts in 0 secs)',
    },
  ],
  [
    'submission-login: Client has quit',
    {
      kind: 'login',
      service: 'submission',
      user: 'user1',
      success: false,
      method: 'LOGIN',
      remoteIp: '192.0.2.133',
      localIp: '0.0.0.0',
      reason: 'Client has quit the connection (auth failed, 1 attempts in 2 secs)',
    },
  ],
  [
    'Aug 30 00:11:05 imap-login',
    {
      kind: 'login',
      service: 'imap',
      user: 'info@example.com',
      success: false,
      method: 'PLAIN',
      remoteIp: '192.0.2.110',
      localIp: '0.0.0.0',
      reason: 'Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed)',
    },
  ],
  [
    'Sep 13 01:15:02 imap-login',
    {
      kind: 'login',
      service: 'imap',
      user: 'admin@example.com',
      success: false,
      method: 'PLAIN',
      remoteIp: '203.0.113.26',
      localIp: '192.0.2.10',
      reason: 'Disconnected: Aborted login (auth failed, 1 attempts in 4 secs)',
    },
  ],
  [
    'Maximum number of connections',
    {
      kind: 'login',
      service: 'imap',
      user: 'oviraptor',
      success: false,
      method: 'PLAIN',
      remoteIp: '10.0.0.18',
      localIp: '192.168.190.13',
      reason: 'Maximum number of connections from user+IP exceeded (mail_max_userip_connections)',
    },
  ],
  [
    'Aborted login (1 authentication attempts)',
    {
      kind: 'login',
      service: 'pop3',
      user: 'username',
      success: false,
      method: 'PLAIN',
      remoteIp: '::ffff:1.2.3.4',
      localIp: '::ffff:1.2.3.5',
      reason: 'Aborted login (1 authentication attempts)',
    },
  ],
  // --- authentication
  [
    'pam(toto,1.1.1.1): unknown user',
    {
      kind: 'login',
      service: 'auth',
      user: 'toto',
      success: false,
      remoteIp: '1.1.1.1',
      reason: 'unknown user',
    },
  ],
  [
    'pam(toto,1.1.1.1,<youpi>)',
    {
      kind: 'login',
      service: 'auth',
      user: 'toto',
      success: false,
      remoteIp: '1.1.1.1',
      reason: 'pam_authenticate() failed: Authentication failure (password mismatch?)',
    },
  ],
  [
    'pam(caliph@customdomaine.com',
    {
      kind: 'login',
      service: 'auth',
      user: 'caliph@customdomaine.com',
      success: false,
      remoteIp: '5.34.207.151',
      reason: 'pam_authenticate() failed: Authentication failure (Password mismatch?)',
    },
  ],
  [
    'pam(needle,',
    {
      kind: 'login',
      service: 'auth',
      user: 'needle',
      success: false,
      remoteIp: '5.34.207.161',
      reason: 'pam_authenticate() failed: Authentication failure (Password mismatch?)',
    },
  ],
  [
    'auth-worker(63712): conn',
    {
      kind: 'login',
      service: 'auth',
      user: 'contact',
      success: false,
      remoteIp: '220.169.110.101',
      reason: 'unknown user',
    },
  ],
  [
    'auth-worker(63712): Info: conn',
    {
      kind: 'login',
      service: 'auth',
      user: 'contact',
      success: false,
      remoteIp: '220.169.110.101',
      reason: 'unknown user',
    },
  ],
  [
    'sql(testing@example.com,192.168.1.1)',
    {
      kind: 'login',
      service: 'auth',
      user: 'testing@example.com',
      success: false,
      remoteIp: '192.168.1.1',
      // `auth_verbose_passwords` logged the password: it is not kept
      reason: 'unknown user',
    },
  ],
  [
    'passwd-file(karen@co.uk',
    {
      kind: 'login',
      service: 'auth',
      user: 'karen@co.uk',
      success: false,
      remoteIp: '192.168.1.1',
      reason: 'unknown user',
    },
  ],
  [
    'passwd-file(h-9642cc8a8bc184c40b1',
    {
      kind: 'login',
      service: 'auth',
      user: 'h-9642cc8a8bc184c40b1@h-ffeb17e38996c.com',
      success: false,
      reason: 'unknown user',
    },
  ],
  [
    'ruser=web rhost=176.61.140.224',
    {
      kind: 'login',
      service: 'auth',
      success: false,
      remoteIp: '176.61.140.224',
      reason: 'authentication failure',
    },
  ],
  [
    'ruser=rhost=1.2.3.4 rhost=192.0.43.10',
    {
      kind: 'login',
      service: 'auth',
      success: false,
      // the `rhost=` injected through the remote user name is not taken
      remoteIp: '192.0.43.10',
      reason: 'authentication failure',
    },
  ],
  [
    'rhost=176.61.140.225  user=root',
    {
      kind: 'login',
      service: 'auth',
      user: 'root',
      success: false,
      remoteIp: '176.61.140.225',
      reason: 'authentication failure',
    },
  ],
  [
    'pam(user,192.0.2.4)',
    {
      kind: 'login',
      service: 'auth',
      user: 'user',
      success: false,
      remoteIp: '192.0.2.4',
      reason: 'pam_authenticate() failed: Authentication failure (Password mismatch?)',
    },
  ],
  [
    'sql(admin@example.de',
    {
      kind: 'login',
      service: 'auth',
      user: 'admin@example.de',
      success: false,
      remoteIp: '192.0.2.5',
      reason: 'unknown user',
    },
  ],
  [
    'sql(support,192.0.2.6)',
    {
      kind: 'login',
      service: 'auth',
      user: 'support',
      success: false,
      remoteIp: '192.0.2.6',
      reason: 'unknown user',
    },
  ],
  [
    'ldap(dog,52.37.139.121,)',
    {
      kind: 'login',
      service: 'auth',
      user: 'dog',
      success: false,
      remoteIp: '52.37.139.121',
      reason: 'invalid credentials',
    },
  ],
  [
    'auth(info@example.com,192.0.2.110,sasl:login)',
    {
      kind: 'login',
      service: 'auth',
      user: 'info@example.com',
      success: false,
      remoteIp: '192.0.2.110',
      reason: 'Password mismatch',
    },
  ],
  [
    'sql(username,1.2.3.4)',
    {
      kind: 'login',
      service: 'auth',
      user: 'username',
      success: false,
      remoteIp: '1.2.3.4',
      reason: 'unknown user',
    },
  ],
  [
    'userdb(username,::ffff:127.0.0.1)',
    {
      kind: 'login',
      service: 'auth',
      user: 'username',
      success: false,
      remoteIp: '::ffff:127.0.0.1',
      reason: 'user not found from userdb',
    },
  ],
  // --- lines kept as information
  ['lmtp(15080): Connect from local', { kind: 'info', label: 'connect' }],
  ['lmtp(15080): Disconnect from local', { kind: 'info', label: 'disconnect' }],
  ['<10200></2+CoPG5GSVYgp83>: Logged out', { kind: 'info', label: 'logout' }],
  ['Connection closed (UID FETCH', { kind: 'info', label: 'disconnect' }],
  ['pop3(h-e8fcfa624', { kind: 'info', label: 'logout' }],
  ['IMAP(trex)', { kind: 'info', label: 'logout' }],
  ['pop3(archaeopteryx)', { kind: 'info', label: 'disconnect' }],
  ['imap(info@example.com): Info: Logged out', { kind: 'info', label: 'logout' }],
  ['master: Warning: Killed', { kind: 'info', label: 'shutdown' }],
  ['starting up for imap, lmtp, sieve', { kind: 'info', label: 'startup' }],
  ['Dovecot v1.2.rc3 starting up', { kind: 'info', label: 'startup' }],
  ['SIGHUP received', { kind: 'info', label: 'reload' }],
  ['ssl-params: Warning', { kind: 'info', label: 'ssl' }],
  ['managesieve(admin@test.com): Debug', { kind: 'info', label: 'debug' }],
  ['z1 dovecot: imap: Warning: Time jumped', { kind: 'info', label: 'warning' }],
  ['message repeated 2 times: [', { kind: 'info', label: 'repeated' }],
  ['last message repeated 2 times', { kind: 'info', label: 'repeated' }],
  ['net_connect_unix(auth-worker)', { kind: 'info', label: 'error' }],
  ['config: Fatal', { kind: 'info', label: 'fatal' }],
  ['Fatal: auth(default): Support not compiled in', { kind: 'info', label: 'fatal' }],
  ['(no auth attempts in 0 secs): user=<>, rip=192.168.13.99', { kind: 'info', label: 'disconnect' }],
  ['Too many bad commands (no auth attempts in 22 secs)', { kind: 'info', label: 'disconnect' }],
  ['Disconnected (no auth attempts): rip=121.44.24.254', { kind: 'info', label: 'disconnect' }],
  ['Disconnected (no auth attempts in 58 secs)', { kind: 'info', label: 'disconnect' }],
  ['disconnected before auth was ready', { kind: 'info', label: 'disconnect' }],
  ['Connection closed (no auth attempts in 20 secs)', { kind: 'info', label: 'disconnect' }],
];

describe('dovecot parser on real lines', () => {
  it.each(REAL)('%s', (fragment, expected) => {
    expect(parseReal(fragment)).toEqual(expected);
  });

  it('has an expectation for every fixture line', () => {
    const unasserted = realFrames.filter((f) => !REAL.some(([fragment]) => f.raw.includes(fragment)));
    expect(unasserted.map((f) => f.raw)).toEqual([]);
  });
});

describe('dovecot deliveries (wording from Dovecot and Pigeonhole sources)', () => {
  it('reads a quota failure of lib-lda (`save failed to`)', () => {
    expect(
      parse(
        'lmtp(alice@example.org)<12345><Ab3XcBcUY2X2MAAAvJYXgA>: msgid=<mid@x>: save failed to INBOX: Quota exceeded (mailbox for user is full)',
      ),
    ).toEqual({
      kind: 'mailbox-delivery',
      user: 'alice@example.org',
      messageId: 'mid@x',
      mailbox: 'INBOX',
      outcome: 'failed',
      detail: 'Quota exceeded (mailbox for user is full)',
      session: 'Ab3XcBcUY2X2MAAAvJYXgA',
      agent: 'lmtp',
    });
  });

  it('reads `save failed to open mailbox`', () => {
    expect(
      parse('lda(bob): msgid=<m@x>: save failed to open mailbox Archive/2026: Permission denied'),
    ).toEqual({
      kind: 'mailbox-delivery',
      user: 'bob',
      messageId: 'm@x',
      mailbox: 'Archive/2026',
      outcome: 'failed',
      detail: 'Permission denied',
      agent: 'lda',
    });
  });

  it("reads Sieve's store failure at Error level", () => {
    expect(
      parse(
        "lmtp(Alice@Example.ORG)<77><S1>: Error: sieve: msgid=<m@x>: failed to store into mailbox 'Junk': Mailbox doesn't exist: Junk",
      ),
    ).toEqual({
      kind: 'mailbox-delivery',
      user: 'alice@example.org',
      messageId: 'm@x',
      mailbox: 'Junk',
      outcome: 'failed',
      detail: "Mailbox doesn't exist: Junk",
      session: 'S1',
      agent: 'lmtp',
    });
  });

  it("reads the LDA's permanent rejection", () => {
    expect(
      parse('lda(alice)<4242><sess>: msgid=<m@x>: rejected: Quota exceeded (mailbox for user is full)'),
    ).toEqual({
      kind: 'mailbox-delivery',
      user: 'alice',
      messageId: 'm@x',
      outcome: 'rejected',
      detail: 'Quota exceeded (mailbox for user is full)',
      session: 'sess',
      agent: 'lda',
    });
  });

  it('reads a Sieve reject, discard, vacation and duplicate forward', () => {
    expect(parse('lmtp(a@x)<1><s>: sieve: msgid=<m@x>: rejected message from <Sender@Y> (reject)')).toEqual({
      kind: 'mailbox-delivery',
      user: 'a@x',
      messageId: 'm@x',
      outcome: 'rejected',
      detail: 'rejected message from <Sender@Y> (reject)',
      session: 's',
      agent: 'lmtp',
    });
    expect(
      parse(
        'lda(a)<1><s>: sieve: msgid=<m@x>: marked message to be discarded if not explicitly delivered (discard action)',
      ),
    ).toEqual({
      kind: 'mailbox-delivery',
      user: 'a',
      messageId: 'm@x',
      outcome: 'discarded',
      session: 's',
      agent: 'lda',
    });
    // Pigeonhole in Dovecot 2.4 capitalises this message
    expect(
      parse(
        'lda(a): sieve: msgid=<m@x>: Marked message to be discarded if not explicitly delivered (discard action)',
      ),
    ).toEqual({ kind: 'mailbox-delivery', user: 'a', messageId: 'm@x', outcome: 'discarded', agent: 'lda' });
    expect(parse('lmtp(a@x)<1><s>: sieve: msgid=<m@x>: sent vacation response to <Bob@Y.org>')).toEqual({
      kind: 'mailbox-delivery',
      user: 'a@x',
      messageId: 'm@x',
      outcome: 'vacation',
      detail: 'bob@y.org',
      session: 's',
      agent: 'lmtp',
    });
    expect(parse('lmtp(a@x)<1><s>: sieve: msgid=<m@x>: discarded duplicate forward to <b@y>')).toEqual({
      kind: 'mailbox-delivery',
      user: 'a@x',
      messageId: 'm@x',
      outcome: 'duplicate',
      detail: 'b@y',
      session: 's',
      agent: 'lmtp',
    });
  });

  it('keeps vacation replies that were not sent as information', () => {
    expect(
      parse('lmtp(a@x)<1><s>: sieve: msgid=<m@x>: discarded duplicate vacation response to <b@y>'),
    ).toEqual({
      kind: 'info',
      label: 'sieve',
    });
  });

  it('leaves out an unspecified Message-ID and reads a bare one', () => {
    expect(parse('lda(a): msgid=unspecified: saved mail to INBOX')).toEqual({
      kind: 'mailbox-delivery',
      user: 'a',
      mailbox: 'INBOX',
      outcome: 'saved',
      agent: 'lda',
    });
    expect(parse("lda(a): sieve: msgid=7a91f8d9-7f2d@x: stored mail into mailbox ' Spam'")).toEqual({
      kind: 'mailbox-delivery',
      user: 'a',
      messageId: '7a91f8d9-7f2d@x',
      mailbox: ' Spam',
      outcome: 'saved',
      agent: 'lda',
    });
  });

  it('reads a delivery from a Dovecot log_path file (level after the prefix)', () => {
    const [f] = frameLines([
      'Nov 28 10:00:00 lmtp(alice)<12><Ab3XcBcUY2X2MAAAvJYXgA>: Info: msgid=<m@x>: saved mail to INBOX',
    ]);
    expect(f?.program).toBe('dovecot');
    expect(dovecotParser.parse(f!)).toEqual({
      kind: 'mailbox-delivery',
      user: 'alice',
      messageId: 'm@x',
      mailbox: 'INBOX',
      outcome: 'saved',
      session: 'Ab3XcBcUY2X2MAAAvJYXgA',
      agent: 'lmtp',
    });
  });

  it('takes the last status: a Message-ID cannot forge the outcome', () => {
    expect(
      parse("lmtp(a@x)<1><s>: sieve: msgid=<a>: saved mail to INBOX: x>: stored mail into mailbox 'Junk'"),
    ).toEqual({
      kind: 'mailbox-delivery',
      user: 'a@x',
      messageId: 'a',
      mailbox: 'Junk',
      outcome: 'saved',
      session: 's',
      agent: 'lmtp',
    });
    expect(
      parse(
        'lda(a): msgid=<x>: marked message to be discarded if not explicitly delivered>: saved mail to INBOX',
      ),
    ).toMatchObject({ outcome: 'saved', mailbox: 'INBOX' });
  });

  it('reads a custom deliver_log_format with more fields before the status', () => {
    expect(parse('lmtp(a@x)<1><s>: msgid=<m@x>, from=b@y, size=1234: saved mail to INBOX')).toEqual({
      kind: 'mailbox-delivery',
      user: 'a@x',
      messageId: 'm@x',
      mailbox: 'INBOX',
      outcome: 'saved',
      session: 's',
      agent: 'lmtp',
    });
  });

  it('bounds very long values', () => {
    const event = parse(`lmtp(a@x)<1><s>: msgid=<${'m'.repeat(5000)}@x>: saved mail to ${'B'.repeat(5000)}`);
    expect(event).toMatchObject({ kind: 'mailbox-delivery', outcome: 'saved' });
    if (event?.kind !== 'mailbox-delivery') throw new Error('not a delivery');
    expect(event.messageId!.length).toBeLessThanOrEqual(512);
    expect(event.mailbox!.length).toBe(512);
  });

  it('does not take a connection-level line (pid only) for a delivery', () => {
    expect(parse('lmtp(12345): msgid=<m@x>: saved mail to INBOX')).toBeNull();
    expect(parse('lmtp(a@x)<1><s>: msgid=<m@x>: something new happened')).toBeNull();
    expect(parse('lmtp(a@x)<1><s>: Error: msgid=<m@x>: something new happened')).toEqual({
      kind: 'info',
      label: 'error',
    });
  });
});

describe('dovecot logins', () => {
  it('finds the real rip and user when the user name imitates the key list', () => {
    expect(
      parse(
        'imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<x>, method=PLAIN, rip=6.6.6.6>, method=LOGIN, rip=192.0.2.9, lip=192.0.2.1, TLS, session=<abc>',
      ),
    ).toEqual({
      kind: 'login',
      service: 'imap',
      user: 'x>, method=plain, rip=6.6.6.6',
      success: false,
      method: 'LOGIN',
      remoteIp: '192.0.2.9',
      localIp: '192.0.2.1',
      reason: 'Disconnected (auth failed, 1 attempts in 2 secs)',
    });
  });

  it('reads the failure from the message, not from the user name', () => {
    expect(
      parse('imap-login: Disconnected (no auth attempts in 1 secs): user=<auth failed>, rip=192.0.2.9'),
    ).toEqual({
      kind: 'info',
      label: 'disconnect',
    });
  });

  it('keeps proxy lines and unknown login messages apart', () => {
    expect(parse('imap-login: proxy(alice): started proxying to 192.0.2.20:143')).toEqual({
      kind: 'info',
      label: 'proxy',
    });
    expect(parse('imap-login: Something new: user=<a>, rip=192.0.2.1')).toBeNull();
  });
});

describe('dovecot robustness', () => {
  it('returns null for lines it does not know', () => {
    for (const text of ['', ' ', 'hello world', 'imap(', 'lmtp(a@x', 'lmtp(a@x)<1', '(((', ':::', 'Info: ']) {
      expect(parse(text)).toBeNull();
    }
  });

  it('never throws on hostile input and stays fast on long lines', () => {
    const long = 'a'.repeat(200_000);
    const inputs = [
      `lmtp(${long}): msgid=<${long}>: saved mail to INBOX`,
      `imap-login: Login: user=<${long}`,
      `auth-worker(1): conn ${long}`,
      `lmtp(a)<${'<'.repeat(10_000)}>: x`,
      `${'dovecot: '.repeat(10_000)}x`,
      `lmtp(a@x)<1><s>: ${': saved mail to '.repeat(10_000)}`,
      `pam_unix(dovecot:auth): authentication failure; ${' rhost='.repeat(10_000)}`,
    ];
    const started = Date.now();
    for (const text of inputs) expect(() => parse(text)).not.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('handles the Dovecot program names and no others', () => {
    for (const p of [
      'dovecot',
      'dovecot-auth',
      'dovecot-lda',
      'dovecot/imap-login',
      'deliver',
      'deliver(alice)',
    ]) {
      expect(dovecotParser.handles(p)).toBe(true);
    }
    for (const p of ['postfix/lmtp', 'auth', 'imapd', 'dovecotx', 'amavis', 'lmtp']) {
      expect(dovecotParser.handles(p)).toBe(false);
    }
  });

  it('reads the service from a dovecot/<service> program tag', () => {
    expect(
      dovecotParser.parse(
        frame('dovecot/imap-login', 'Login: user=<a>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.2'),
      ),
    ).toEqual({
      kind: 'login',
      service: 'imap',
      user: 'a',
      success: true,
      method: 'PLAIN',
      remoteIp: '192.0.2.1',
      localIp: '192.0.2.2',
    });
  });
});

/** Corpus files the fixtures come from: every Dovecot line in them must be recognised. */
const CORPUS_FILES: readonly string[] = [
  'dovecot/crowdsec-hub-dovecot-logs.log',
  'dovecot/crowdsec-hub-dovecot-spam.log',
  'dovecot/crowdsec-hub-dovecot-slow-bf.log',
  'dovecot/fail2ban-dovecot.log',
  'dovecot/itlinux-qmail-grafical-stats-dovecot.log',
  'dovecot/lograptor-tests-samples-dovecot.log',
  'dovecot/ossec-testing-dovecot.txt',
  'postfix/lightmeter/complete.tar.gz',
  'postfix/lightmeter/31_inbound_reply.log',
  'postfix/Sampistaroy-mail-var-log-mail.log',
  'postfix/modoboa-maillog-tests-mail.log',
  'postfix/LadyWhyFi-Task-Mail-dovecot-postfix-squirrelmail-mail.log',
  'postfix/NoLE-MailLog-mail.log',
  'postfix/StarshipEngineer-email-setup-mail.log',
];

describe.skipIf(!hasCorpus)('dovecot corpus coverage', () => {
  it.each(CORPUS_FILES)('recognises every Dovecot line of %s', (file) => {
    const result = coverage(dovecotParser, file, { program: 'dovecot' }, withDate);
    expect(result.handled).toBeGreaterThan(0);
    expect(result.unknown).toEqual([]);
  });
});
