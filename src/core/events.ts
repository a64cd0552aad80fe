/**
 * The unified event model. Every parser turns a frame's text into one of these; the correlator consumes
 * them. Matching (in parsers) is kept apart from correlation (in the correlator): an event carries only
 * what its own line says.
 *
 * Conventions:
 * - addresses are normalised with `normalizeAddress` (lower-case, no brackets, null sender = '');
 * - message-ids with `normalizeMessageId` (no brackets);
 * - optional facts a line does not give are `undefined` (absent), never invented;
 * - `queueId` is the MTA's own queue identifier (Postfix queue id, amavis's Queue-ID field...).
 */

export interface ClientRef {
  /** Reverse name as the MTA logged it (`unknown` when it had none). */
  name?: string;
  ip?: string;
  port?: number;
}

/** Outcome of one delivery attempt, as the delivering program states it. */
export type AttemptStatus =
  | 'sent' // delivered or handed over (Postfix status=sent)
  | 'deferred' // temporary failure, will retry
  | 'bounced' // permanent failure, a bounce is sent
  | 'expired' // queue lifetime reached (Postfix status=expired)
  | 'discarded' // silently dropped (discard transport, sieve discard)
  | 'undeliverable'; // Postfix verify/undeliverable

/** An SMTP client connected (smtpd, postscreen). */
export interface ConnectEvent {
  kind: 'connect';
  client: ClientRef;
  /**
   * The session the line belongs to, when the line names it rather than the syslog pid (tcpserver's
   * child pid in a qmail-smtpd multilog). Lines with the same session value are one SMTP session.
   */
  session?: string;
  /** Postfix's `smtpd`, `postscreen`... useful to show which layer answered. */
}

export interface DisconnectEvent {
  kind: 'disconnect';
  client: ClientRef;
  /** See ConnectEvent.session. */
  session?: string;
  /** Postfix 3.x: the command statistics after `disconnect from ...`, verbatim. */
  stats?: string;
}

/**
 * An SMTP-level refusal: smtpd `NOQUEUE: reject:` / `QID: reject:` / `milter-reject:`, cleanup's
 * `reject: header ...` / `milter-reject:`, postscreen's rejects.
 */
export interface RejectEvent {
  kind: 'reject';
  /** Queue id when the message was already queued (`QID: reject: ...`), undefined for NOQUEUE. */
  queueId?: string;
  /**
   * `reject`, `milter-reject`, `hold`, `discard`, `warning`-level actions are not rejects. `redirect` and
   * `filter` (access-table REDIRECT/FILTER actions) do not refuse the mail: it goes on, elsewhere.
   */
  action: 'reject' | 'milter-reject' | 'discard' | 'hold' | 'redirect' | 'filter';
  /** SMTP stage: CONNECT, HELO, MAIL, RCPT, DATA, END-OF-MESSAGE, header, body... */
  stage?: string;
  client?: ClientRef;
  /** SMTP reply code, e.g. 550. */
  code?: number;
  /** Enhanced status code, e.g. 5.1.1. */
  dsn?: string;
  /** Reason text as logged (bounded). */
  reason: string;
  from?: string;
  to?: string;
  helo?: string;
  proto?: string;
  /** See ConnectEvent.session. */
  session?: string;
  /** Further recipients refused by the same line (simscan and qmail-scanner name them all). */
  alsoTo?: string[];
}

/** A message entered the queue from a network client (Postfix smtpd `QID: client=...`). */
export interface QueueClientEvent {
  kind: 'queue-client';
  queueId: string;
  client: ClientRef;
  saslMethod?: string;
  saslUsername?: string;
  /** Postfix with XFORWARD / content filter: the queue id and client before the filter. */
  origQueueId?: string;
  origClient?: ClientRef;
}

/** A message entered the queue locally (Postfix pickup `QID: uid=1000 from=<...>`). */
export interface QueuePickupEvent {
  kind: 'queue-pickup';
  queueId: string;
  uid?: number;
  from?: string;
}

/** The cleanup daemon logged the Message-ID (or Resent-Message-ID) header. */
export interface MessageIdEvent {
  kind: 'message-id';
  queueId: string;
  /** Empty string when the header was present but empty (`message-id=<>`). */
  messageId: string;
  resent?: boolean;
}

/**
 * A header or body check matched (Postfix cleanup `warning:`/`info:`/`hold:`/`discard:`/`redirect:`
 * /`replace:`/`filter:`), which is where Postfix logs the Subject when a site asks it to.
 */
export interface HeaderCheckEvent {
  kind: 'header-check';
  queueId: string;
  action: string;
  /** `header` or `body` (or `mime-header`, `nested-header`). */
  part: string;
  /** Header name when `part` is a header, e.g. `Subject`. */
  header?: string;
  /** The header's value (for Subject: RFC 2047 decoded), bounded. */
  value: string;
  client?: ClientRef;
  from?: string;
  to?: string;
  helo?: string;
  /** Optional text after the last `: `. */
  text?: string;
}

/** The queue manager took the message (`QID: from=<...>, size=N, nrcpt=N (queue active)`). */
export interface QueueActiveEvent {
  kind: 'queue-active';
  queueId: string;
  from: string;
  size?: number;
  nrcpt?: number;
}

/** The message left the queue for good (`QID: removed`). */
export interface QueueRemovedEvent {
  kind: 'queue-removed';
  queueId: string;
}

/** The queue lifetime ran out (`QID: from=<...>, status=expired, returned to sender`). */
export interface QueueExpiredEvent {
  kind: 'queue-expired';
  queueId: string;
  from?: string;
}

/** One delivery attempt to one recipient (Postfix smtp/lmtp/local/virtual/pipe/error/discard/retry). */
export interface DeliveryEvent {
  kind: 'delivery';
  queueId: string;
  to: string;
  origTo?: string;
  /** `mx.example.org[192.0.2.1]:25`, `local`, `private/dovecot-lmtp`, `none`... verbatim. */
  relay?: string;
  /** Total delay in seconds. */
  delay?: number;
  /** Postfix's `delays=a/b/c/d`, verbatim. */
  delays?: string;
  dsn?: string;
  status: AttemptStatus;
  /** Text in parentheses after the status: the remote reply or local explanation (bounded). */
  reply?: string;
  /** `queued as X` in the reply: the next queue id of a hand-off (content filter, relay host). */
  queuedAs?: string;
  /** Mailbox or file the delivery wrote to when the line says so (local `delivered to mailbox`). */
  mailbox?: string;
  /** Postfix `conn_use=N`. */
  connUse?: number;
  /** Further recipients of the same attempt (Sendmail logs `to=a,b,c` on one line). */
  alsoTo?: string[];
}

/** Postfix bounce/defer daemon created a DSN (`QID: sender non-delivery notification: NEWQID`). */
export interface NotificationEvent {
  kind: 'notification';
  queueId: string;
  /** Queue id of the DSN when the line names it (Postfix); qmail names the injecting process instead. */
  notificationQueueId?: string;
  /** qmail `bounce msg N qp M`: the qmail-queue process of the bounce, whose `info msg K ... qp M` names it. */
  notificationQp?: number;
  /** `non-delivery`, `delay`, `delivery` (success DSN), `postmaster non-delivery`... */
  notification: string;
  /**
   * The notification also ends the recipients still deferred (qmail bounces them when the queue
   * lifetime runs out, with no failure line of their own).
   */
  settlesDeferred?: boolean;
}

/** Administrative queue operations (postsuper, cleanup `hold:`). */
export interface QueueAdminEvent {
  kind: 'queue-admin';
  queueId: string;
  action: 'deleted' | 'held' | 'released' | 'requeued';
}

/**
 * A queue entry's facts, as one line states several of them: qmail `new msg N` / `info msg N: bytes B
 * from <s> qp P uid U`, Exim's `<=` arrival line, Sendmail's `from=` line.
 */
export interface QueueInfoEvent {
  kind: 'queue-info';
  queueId: string;
  /** The line begins the entry (qmail `new msg`, Exim `<=`, Sendmail `from=`). */
  starts: boolean;
  from?: string;
  size?: number;
  nrcpt?: number;
  messageId?: string;
  client?: ClientRef;
  helo?: string;
  saslUsername?: string;
  proto?: string;
  /** qmail: the qmail-queue process that queued the message (see FilterVerdictEvent.qp). */
  qp?: number;
  uid?: number;
  /** Subject, when the MTA logs it (Exim `T=`), decoded. */
  subject?: string;
}

/** qmail-send `starting delivery D: msg N to local|remote R`: the delivery number names an attempt. */
export interface DeliveryStartEvent {
  kind: 'delivery-start';
  deliveryId: string;
  queueId: string;
  to: string;
  channel: 'local' | 'remote';
}

/** qmail-send `delivery D: success|failure|deferral: text`: the outcome of the attempt D started. */
export interface DeliveryResultEvent {
  kind: 'delivery-result';
  deliveryId: string;
  status: AttemptStatus;
  /** The reply, with qmail's `_` line separators turned back into spaces, bounded. */
  reply?: string;
  relay?: string;
  dsn?: string;
  queuedAs?: string;
}

/**
 * A mailing-list manager's account of a post (Mailman 2.1 `post`/`smtp`/`smtp-failure`/`vette` logs,
 * Mailman 3 `smtp.log`/`mailman.log`): which list, which message, how many members it was handed to.
 */
export interface ListPostEvent {
  kind: 'list-post';
  manager: string;
  /**
   * The list as the manager names it (Mailman 2.1: `mylist`; 3.x: `mylist@lists.example.org`),
   * lower-cased; '' when the line does not name it (Mailman 2.1 `smtp-failure`, 3.x `ACCEPT:`).
   */
  list: string;
  messageId?: string;
  from?: string;
  size?: number;
  /**
   * `posted` (accepted for distribution), `sent` (handed to the MTA for `recipients` members),
   * `held` / `rejected` / `discarded` (moderation, vette), `failed` (the MTA refused `recipient`).
   */
  outcome: 'posted' | 'sent' | 'held' | 'rejected' | 'discarded' | 'failed';
  recipients?: number;
  /** The member a failure is about (`smtp-failure`). */
  recipient?: string;
  reason?: string;
  subject?: string;
}

/** Final delivery into a mailbox store (Dovecot LDA/LMTP, with sieve actions). */
export interface MailboxDeliveryEvent {
  kind: 'mailbox-delivery';
  /** Final recipient (the user the LDA/LMTP ran for). */
  user: string;
  messageId?: string;
  /** Mailbox name for `saved`/`stored` outcomes. */
  mailbox?: string;
  outcome: 'saved' | 'forwarded' | 'discarded' | 'rejected' | 'failed' | 'vacation' | 'duplicate';
  /** Forward target, rejection or failure reason, verbatim (bounded). */
  detail?: string;
  /** Dovecot session id (`<sessionid>`), which LMTP also returns to Postfix in its reply. */
  session?: string;
  /** `lmtp` or `lda`. */
  agent: string;
}

/** A content filter's verdict on a message (amavisd-new, MailScanner, qmail-scanner...). */
export interface FilterVerdictEvent {
  kind: 'filter-verdict';
  filter: string;
  /** `Passed`, `Blocked`, `Not-Delivered`... verbatim. */
  action: string;
  /** `CLEAN`, `SPAM`, `SPAMMY`, `INFECTED`, `BANNED`, `BAD-HEADER`, `UNCHECKED`... */
  category: string;
  /** Whether the message went on (Passed) or stopped here (Blocked, discarded, quarantined). */
  passed: boolean;
  virus?: string;
  queueId?: string;
  messageId?: string;
  from?: string;
  to: string[];
  score?: number;
  size?: number;
  /** Queue ids the filter re-injected the message as. */
  queuedAs: string[];
  quarantine?: string;
  clientIp?: string;
  /** The filter's own id for this message (amavis `(pid-NN)`, `mail_id`). */
  filterId?: string;
  /**
   * qmail: the filter ran as qmail-queue (qmail-scanner, simscan), so its pid is the `qp` that
   * qmail-send logs in `info msg N: ... qp P`; that is how the verdict reaches the queue entry.
   */
  qp?: number;
  /**
   * The SMTP session the filter ran in, when the line names it rather than a qmail-queue process:
   * simscan logs its parent's pid (qmail-smtpd's, tcpserver's child), as ConnectEvent.session.
   */
  session?: string;
  /** The message's subject when the filter logs it (decoded). */
  subject?: string;
}

/** A spam scan result (SpamAssassin spamd, rspamd). */
export interface SpamResultEvent {
  kind: 'spam-result';
  scanner: string;
  messageId?: string;
  score: number;
  required?: number;
  isSpam: boolean;
  tests?: string[];
  size?: number;
  user?: string;
  /** The content filter's id for the message when a filter ran the scan (amavis `(pid-NN)`). */
  filterId?: string;
}

/** spamd starts on a message (`processing message <mid> for user:uid`): links a later pid-only line. */
export interface SpamProcessingEvent {
  kind: 'spam-processing';
  scanner: string;
  messageId: string;
  user?: string;
}

/** A virus found by a scanner (ClamAV clamd `FOUND`). */
export interface VirusFoundEvent {
  kind: 'virus-found';
  scanner: string;
  virus: string;
  /** What was scanned: a file path or `stream(...)`. */
  target: string;
  /** amavis child pid taken from an amavis temp dir path, which links the scan to amavis's lines. */
  amavisPid?: number;
}

/** A user signed in, or failed to (Dovecot imap/pop3/submission login, auth). */
export interface LoginEvent {
  kind: 'login';
  service: string;
  user?: string;
  success: boolean;
  method?: string;
  remoteIp?: string;
  localIp?: string;
  reason?: string;
}

/**
 * A line the parser recognises but that carries nothing for message correlation (statistics, daemon
 * start/stop, TLS details, warnings not about a message). Counted as parsed; kept with its message when
 * it names a queue id.
 */
export interface InfoEvent {
  kind: 'info';
  queueId?: string;
  client?: ClientRef;
  /** Short label of what the line is, e.g. `tls`, `lost-connection`, `statistics`, `warning`. */
  label: string;
}

export type MailEvent =
  | ConnectEvent
  | DisconnectEvent
  | RejectEvent
  | QueueClientEvent
  | QueuePickupEvent
  | MessageIdEvent
  | HeaderCheckEvent
  | QueueActiveEvent
  | QueueInfoEvent
  | DeliveryStartEvent
  | DeliveryResultEvent
  | QueueRemovedEvent
  | QueueExpiredEvent
  | DeliveryEvent
  | NotificationEvent
  | QueueAdminEvent
  | MailboxDeliveryEvent
  | ListPostEvent
  | FilterVerdictEvent
  | SpamResultEvent
  | SpamProcessingEvent
  | VirusFoundEvent
  | LoginEvent
  | InfoEvent;

export type EventKind = MailEvent['kind'];

/** Longest free text kept from a log line in an event field (the raw line is kept whole elsewhere). */
export const MAX_TEXT_FIELD = 2000;

export function bound(text: string, max = MAX_TEXT_FIELD): string {
  return text.length > max ? text.slice(0, max) : text;
}
