import type {
  ClientRef,
  DeliveryEvent,
  DeliveryResultEvent,
  FilterVerdictEvent,
  ListPostEvent,
  MailboxDeliveryEvent,
  MailEvent,
  NotificationEvent,
  QueueInfoEvent,
  RejectEvent,
  SpamResultEvent,
  VirusFoundEvent,
} from '../core/events.js';
import type { Frame, InvalidFrame } from '../core/frame.js';
import type { DeliveryStatus, EventRecord, LooseLine, MessageRecord } from '../core/model.js';
import { localPart, type MailboxNote, QueueEntry } from './entry.js';
import { evidence, streamKey } from './evidence.js';
import { type PendingReject, SmtpSession } from './session.js';

/** Where the correlator sends what it has finished with. */
export interface CorrelatorSink {
  /** A piece of a logical message (a finished queue entry, a refused attempt, a filter fragment). */
  message(record: MessageRecord): void;
  /** A line that belongs to no message (unknown, invalid, logins, connections that sent nothing). */
  loose(line: LooseLine): void;
}

export interface CorrelatorOptions {
  /** Most queue entries kept open at once; beyond it the oldest is emitted unfinished. */
  maxOpenEntries?: number;
  /** Most SMTP sessions kept open at once. */
  maxOpenSessions?: number;
  /** An entry with no line for this long (log time) is emitted unfinished. Default 6 days. */
  entryIdleMs?: number;
  /** A session with no line for this long is closed. Default 1 hour. */
  sessionIdleMs?: number;
}

export interface CorrelatorStats {
  pieces: number;
  refused: number;
  fragments: number;
  loose: number;
  /** Entries emitted unfinished because the open-state cap was reached. */
  evicted: number;
  /** Entries emitted unfinished because they were idle too long. */
  expired: number;
  openEntries: number;
  openSessions: number;
}

const DAY = 86_400_000;
const SWEEP_EVERY = 20_000;
/** How long a scanner's result waits for the message it belongs to (spamd by pid, clamd by amavis pid). */
const SCAN_LINK_MS = 10 * 60_000;

/** Lines that name a qmail-queue process (qp) before qmail-send logs the entry it created. */
interface PendingQp {
  at: number;
  verdicts: { frame: Frame; event: FilterVerdictEvent }[];
  bounceOf?: { host: string; queueId: string; notification: string; record: EventRecord };
}

interface PendingMailbox {
  user: string;
  agent: string;
  record: EventRecord;
  note: MailboxNote;
}

interface PendingScan {
  at: number;
  records: EventRecord[];
  virus?: string;
  messageId?: string;
  spam?: SpamResultEvent;
}

/**
 * Turns parsed events into message pieces. The rules are written in docs/correlation.md; in short:
 * - a queue entry is keyed by host and queue id, from its first line to `removed` (or a cleanup
 *   rejection, or `postsuper -d`), and becomes one piece;
 * - an SMTP session is keyed by host, program and pid, from `connect` to `disconnect`; refusals
 *   before queueing join the session's next queue entry, or stand as a `refused` piece;
 * - filters and mailbox deliveries join the entry they name (amavis Queue-ID), or the open entry with
 *   the same message-id on the same host, or else stand as a fragment that the store joins by
 *   message-id;
 * - pieces of one logical message (content filter re-injection, hand-off to another host) are joined
 *   later by `mergeMessages`, through their handoffs and message-id.
 */
export class Correlator {
  private readonly entries = new Map<string, QueueEntry>();
  /** Open entries by host and message-id (a message may sit in several queue entries of one host). */
  private readonly byMessageId = new Map<string, Set<QueueEntry>>();
  /** Mailbox-server lines waiting for the MTA line that names their recipient (host + message-id). */
  private readonly mailboxNotes = new Map<string, PendingMailbox[]>();
  private readonly sessions = new Map<string, SmtpSession>();
  private readonly spamdByPid = new Map<string, PendingScan>();
  private readonly amavisScans = new Map<string, PendingScan>();
  /** qmail: delivery number → the message and recipient it delivers (`starting delivery D: msg N to R`). */
  private readonly deliveryStarts = new Map<string, { queueId: string; to: string; at: number }>();
  /** qmail: what waits for the queue entry that the qmail-queue process `qp` will create. */
  private readonly byQp = new Map<string, PendingQp>();
  private readonly maxOpenEntries: number;
  private readonly maxOpenSessions: number;
  private readonly entryIdleMs: number;
  private readonly sessionIdleMs: number;
  private now = 0;
  private sinceSweep = 0;
  readonly stats: CorrelatorStats = {
    pieces: 0,
    refused: 0,
    fragments: 0,
    loose: 0,
    evicted: 0,
    expired: 0,
    openEntries: 0,
    openSessions: 0,
  };

  constructor(
    private readonly sink: CorrelatorSink,
    options: CorrelatorOptions = {},
  ) {
    this.maxOpenEntries = options.maxOpenEntries ?? 200_000;
    this.maxOpenSessions = options.maxOpenSessions ?? 50_000;
    this.entryIdleMs = options.entryIdleMs ?? 6 * DAY;
    this.sessionIdleMs = options.sessionIdleMs ?? 3_600_000;
  }

  /** One framed line and what its parser made of it (`null`: not recognised). */
  push(frame: Frame, event: MailEvent | null, parserName: string | null): void {
    if (frame.at > this.now) this.now = frame.at;
    if (++this.sinceSweep >= SWEEP_EVERY) this.sweep();
    if (event === null) {
      this.emitLoose(frame, 'unknown', parserName ?? 'no parser for this program');
      return;
    }
    this.dispatch(frame, event);
  }

  pushInvalid(line: InvalidFrame): void {
    this.stats.loose++;
    this.sink.loose({
      at: line.at,
      host: line.host,
      program: line.program,
      kind: 'invalid',
      text: line.raw,
      source: streamKey(line),
      offset: line.origin.offset,
      reason: line.reason,
    });
  }

  /** End of input: everything still open is emitted as it stands (unfinished entries stay open in the store). */
  flush(): void {
    this.releaseMailboxNotes(Number.POSITIVE_INFINITY);
    for (const key of [...this.sessions.keys()]) this.closeSession(key);
    for (const entry of [...this.entries.values()]) this.emitEntry(entry);
    for (const pending of this.byQp.values()) this.releasePendingQp(pending);
    this.byQp.clear();
    this.spamdByPid.clear();
    this.amavisScans.clear();
    this.deliveryStarts.clear();
    this.updateOpenCounts();
  }

  private dispatch(frame: Frame, event: MailEvent): void {
    switch (event.kind) {
      case 'connect':
        this.onConnect(frame, event.client, event.session);
        return;
      case 'disconnect':
        this.onDisconnect(frame, event.client, event.session);
        return;
      case 'reject':
        this.onReject(frame, event);
        return;
      case 'queue-client': {
        const entry = this.startEntry(frame, event.queueId);
        entry.setClient(event.client);
        if (event.saslUsername) entry.saslUser = event.saslUsername;
        if (event.origQueueId) {
          entry.addHandoff(event.origQueueId, frame.at, null);
          entry.links.add('orig_queue_id');
        }
        this.joinSession(frame, entry);
        return;
      }
      case 'queue-pickup': {
        const entry = this.startEntry(frame, event.queueId);
        if (event.from !== undefined) entry.sender = event.from;
        return;
      }
      case 'message-id': {
        const entry = this.entryFor(frame, event.queueId, event.kind);
        if (!event.resent || entry.messageId === null) this.setMessageId(entry, event.messageId);
        return;
      }
      case 'header-check': {
        const entry = this.entryFor(frame, event.queueId, event.kind);
        if (event.header?.toLowerCase() === 'subject' && entry.subject === null) entry.subject = event.value;
        if (event.helo && entry.helo === null) entry.helo = event.helo;
        if (event.from !== undefined && entry.sender === null) entry.sender = event.from;
        if (event.action === 'hold') this.holdRecipients(entry, frame.at, event.to, `held by header check`);
        if (event.action === 'discard')
          this.finishRecipients(entry, frame.at, event.to, 'discarded', 'discarded by header check');
        return;
      }
      case 'queue-active': {
        const entry = this.entryFor(frame, event.queueId, event.kind);
        entry.sender = event.from;
        if (event.size !== undefined) entry.size = event.size;
        return;
      }
      case 'delivery':
        this.onDelivery(frame, event);
        return;
      case 'queue-expired': {
        const entry = this.entryFor(frame, event.queueId, event.kind);
        entry.settleOpen('expired', frame.at, 'queue lifetime expired, returned to sender');
        return;
      }
      case 'queue-removed': {
        const entry = this.entryFor(frame, event.queueId, event.kind);
        entry.closed = true;
        this.emitEntry(entry);
        return;
      }
      case 'notification':
        this.onNotification(frame, event);
        return;
      case 'queue-info':
        this.onQueueInfo(frame, event);
        return;
      case 'delivery-start': {
        const entry = this.entryFor(frame, event.queueId, event.kind);
        this.deliveryStarts.set(`${frame.host}\u0000${event.deliveryId}`, {
          queueId: event.queueId,
          to: event.to,
          at: frame.at,
        });
        entry.links.add('delivery number');
        return;
      }
      case 'delivery-result':
        this.onDeliveryResult(frame, event);
        return;
      case 'queue-admin':
        this.onQueueAdmin(frame, event.queueId, event.action);
        return;
      case 'filter-verdict':
        this.onFilterVerdict(frame, event);
        return;
      case 'spam-processing':
        this.spamdByPid.set(pidKey(frame), {
          at: frame.at,
          records: [evidence(frame, event.kind)],
          messageId: event.messageId,
        });
        return;
      case 'spam-result':
        this.onSpamResult(frame, event);
        return;
      case 'virus-found':
        this.onVirusFound(frame, event);
        return;
      case 'mailbox-delivery':
        this.onMailboxDelivery(frame, event);
        return;
      case 'list-post':
        this.onListPost(frame, event);
        return;
      case 'login':
        this.emitLoose(frame, event.kind);
        return;
      case 'info': {
        const entry = event.queueId ? this.entries.get(entryKey(frame.host, event.queueId)) : undefined;
        if (entry) entry.add(evidence(frame, event.kind));
        else this.emitLoose(frame, event.kind, event.label);
        return;
      }
    }
  }

  // --- queue entries -------------------------------------------------------------------------

  /** The entry a line names, created (as partial: its start was not seen) when it is not open. */
  private entryFor(frame: Frame, queueId: string, kind: string): QueueEntry {
    const entry = this.openEntry(frame.host, queueId, frame.at);
    entry.add(evidence(frame, kind));
    return entry;
  }

  /** A line that begins a queue entry (smtpd `client=`, pickup). An open entry with the same id is reused
   *  only if it has not begun already: otherwise the id was reused and the old entry is emitted. */
  private startEntry(frame: Frame, queueId: string): QueueEntry {
    const existing = this.entries.get(entryKey(frame.host, queueId));
    if (existing?.started) this.emitEntry(existing);
    const entry = this.openEntry(frame.host, queueId, frame.at);
    entry.started = true;
    entry.add(evidence(frame, 'queue-start'));
    return entry;
  }

  private openEntry(host: string, queueId: string, at: number): QueueEntry {
    const key = entryKey(host, queueId);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = new QueueEntry(host, queueId, at);
      this.entries.set(key, entry);
      if (this.entries.size > this.maxOpenEntries) this.evictOldest();
    }
    return entry;
  }

  private setMessageId(entry: QueueEntry, messageId: string): void {
    entry.messageId = messageId;
    if (!messageId) return;
    const key = messageIdKey(entry.host, messageId);
    const set = this.byMessageId.get(key);
    if (set) set.add(entry);
    else this.byMessageId.set(key, new Set([entry]));
  }

  private onDelivery(frame: Frame, event: DeliveryEvent): void {
    const entry = this.entryFor(frame, event.queueId, event.kind);
    const attempt = {
      origRecipient: event.origTo ?? null,
      status: deliveryStatus(event.status),
      at: frame.at,
      host: frame.host,
      relay: event.relay ?? null,
      mailbox: event.mailbox ?? null,
      dsn: event.dsn ?? null,
      reason: event.reply ?? null,
      handoff: event.status === 'sent' ? (event.queuedAs ?? null) : null,
    };
    entry.attempt(event.to, attempt);
    this.takeMailboxNote(entry, event.to);
    if (event.alsoTo) for (const to of event.alsoTo) entry.attempt(to, attempt);
    if (event.queuedAs && event.status === 'sent') {
      entry.addHandoff(event.queuedAs, frame.at, event.relay ?? null);
      entry.links.add('queued_as');
    }
  }

  private onQueueAdmin(
    frame: Frame,
    queueId: string,
    action: 'deleted' | 'held' | 'released' | 'requeued',
  ): void {
    const entry = this.entryFor(frame, queueId, 'queue-admin');
    switch (action) {
      case 'deleted':
        this.finishRecipients(
          entry,
          frame.at,
          undefined,
          'deleted',
          'deleted from the queue by an administrator (postsuper -d, exim -Mrm...)',
        );
        entry.closed = true;
        this.emitEntry(entry);
        return;
      case 'held':
        this.holdRecipients(entry, frame.at, undefined, 'placed on hold (postsuper -h, or frozen by Exim)');
        return;
      case 'released':
        entry.settleOpen('deferred', frame.at, 'released from hold');
        return;
      case 'requeued':
        return;
    }
  }

  /** Held recipients: the named one (a header check names one) or every recipient known so far. */
  private holdRecipients(entry: QueueEntry, at: number, to: string | undefined, reason: string): void {
    entry.links.add('hold');
    if (to && !entry.deliveries.has(to)) {
      entry.attempt(to, {
        status: 'held',
        at,
        host: entry.host,
        relay: null,
        mailbox: null,
        dsn: null,
        reason,
      });
      return;
    }
    for (const record of entry.deliveries.values()) {
      if (record.status !== 'deferred' && record.status !== 'held') continue;
      Object.assign(record, { status: 'held', at, reason });
    }
  }

  /** Settles recipients that will never be attempted (discarded, deleted, rejected at end of data). */
  private finishRecipients(
    entry: QueueEntry,
    at: number,
    to: string | undefined,
    status: DeliveryStatus,
    reason: string,
    dsn: string | null = null,
  ): void {
    if (to !== undefined && to !== '' && !entry.deliveries.has(to)) {
      entry.attempt(to, { status, at, host: entry.host, relay: null, mailbox: null, dsn, reason });
    }
    for (const record of entry.deliveries.values()) {
      if (record.status !== 'deferred' && record.status !== 'held') continue;
      Object.assign(record, { status, at, reason, dsn: dsn ?? record.dsn });
    }
  }

  private emitEntry(entry: QueueEntry): void {
    if (entry.queueId !== null) {
      const key = entryKey(entry.host, entry.queueId);
      if (this.entries.get(key) === entry) this.entries.delete(key);
    }
    if (entry.messageId) {
      const key = messageIdKey(entry.host, entry.messageId);
      const set = this.byMessageId.get(key);
      if (set?.delete(entry) && set.size === 0) this.byMessageId.delete(key);
    }
    this.stats.pieces++;
    this.sink.message(entry.toRecord());
  }

  private evictOldest(): void {
    const oldest = this.entries.values().next().value;
    if (!oldest) return;
    this.stats.evicted++;
    this.emitEntry(oldest);
  }

  // --- SMTP sessions ---------------------------------------------------------------------------

  private onConnect(frame: Frame, client: ClientRef, sessionId?: string): void {
    const key = sessionKey(frame, client, sessionId);
    if (this.sessions.has(key)) this.closeSession(key);
    const session = new SmtpSession(frame.host, client, frame.at);
    session.lines.push(evidence(frame, 'connect'));
    this.sessions.set(key, session);
    if (this.sessions.size > this.maxOpenSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.closeSession(oldest);
    }
  }

  private onDisconnect(frame: Frame, client: ClientRef, sessionId?: string): void {
    const key = sessionKey(frame, client, sessionId);
    const session = this.sessions.get(key);
    const record = evidence(frame, 'disconnect');
    if (!session) {
      this.emitLoose(frame, 'disconnect');
      return;
    }
    session.lines.push(record);
    for (const queueId of session.queueIds) this.entries.get(entryKey(frame.host, queueId))?.add(record);
    this.closeSession(key);
  }

  /** The entry joins its session: the session's connect line and its pending refusals come with it. */
  private joinSession(frame: Frame, entry: QueueEntry): void {
    const session = this.sessions.get(sessionKey(frame));
    if (!session) return;
    session.touch(frame.at);
    session.queueIds.push(entry.queueId!);
    entry.setClient(session.client);
    if (session.helo && entry.helo === null) entry.helo = session.helo;
    for (const line of session.lines) entry.add(line);
    for (const pending of session.pending) this.rejectInEntry(entry, pending.event, pending.record);
    session.pending = [];
  }

  private onReject(frame: Frame, event: RejectEvent): void {
    const record = evidence(frame, event.kind);
    if (event.action === 'redirect' || event.action === 'filter') {
      // Access-table REDIRECT/FILTER do not refuse the mail: the line is evidence, nothing more.
      const entry = event.queueId ? this.entries.get(entryKey(frame.host, event.queueId)) : undefined;
      const session = entry ? undefined : this.sessions.get(sessionKey(frame, event.client, event.session));
      if (entry) entry.add(record);
      else if (session) session.lines.push(record);
      else this.emitLooseRecord(record, event.action);
      return;
    }
    if (event.queueId) {
      const entry = this.entryFor(frame, event.queueId, event.kind);
      this.rejectInEntry(entry, event, null);
      if (isWholeMessageReject(frame, event)) {
        entry.closed = true;
        this.emitEntry(entry);
      }
      return;
    }
    const session = this.sessions.get(sessionKey(frame, event.client, event.session));
    if (session) {
      session.touch(frame.at);
      if (event.helo && session.helo === null) session.helo = event.helo;
      session.pending.push({ event, record, at: frame.at });
      return;
    }
    // No session to wait for (postscreen, or its connect line was not read): the refusal stands alone.
    this.emitRefused(frame.host, [{ event, record, at: frame.at }], event.client ?? null, []);
  }

  private rejectInEntry(entry: QueueEntry, event: RejectEvent, record: EventRecord | null): void {
    if (record) entry.add(record);
    if (event.from !== undefined && entry.sender === null) entry.sender = event.from;
    if (event.helo && entry.helo === null) entry.helo = event.helo;
    if (event.client) entry.setClient(event.client);
    const status = rejectStatus(event);
    const reason = rejectReason(event);
    const at = record?.at ?? entry.lastSeen;
    if (event.action === 'hold') {
      this.holdRecipients(entry, at, event.to, reason);
    } else if (event.stage === 'RCPT' && event.to) {
      const attempt = {
        status,
        at,
        host: entry.host,
        relay: null,
        mailbox: null,
        dsn: event.dsn ?? null,
        reason,
      };
      for (const to of recipientsOf(event)) entry.attempt(to, attempt);
    } else {
      this.finishRecipients(entry, at, event.to, status, reason, event.dsn ?? null);
    }
  }

  private closeSession(key: string): void {
    const session = this.sessions.get(key);
    if (!session) return;
    this.sessions.delete(key);
    if (session.pending.length > 0) {
      this.emitRefused(session.host, session.pending, session.client, session.lines);
    } else if (session.queueIds.length === 0) {
      for (const line of session.lines) this.emitLooseRecord(line, 'no message in this session');
    }
  }

  /** Refusals with no queued message: one `refused` piece per sender, one rejected delivery per recipient. */
  private emitRefused(
    host: string,
    pending: PendingReject[],
    client: ClientRef | null,
    sessionLines: EventRecord[],
  ): void {
    const bySender = new Map<string, PendingReject[]>();
    for (const p of pending) {
      const sender = p.event.from ?? '';
      const group = bySender.get(sender);
      if (group) group.push(p);
      else bySender.set(sender, [p]);
    }
    for (const [sender, group] of bySender) {
      const entry = new QueueEntry(host, null, group[0]!.at);
      entry.started = true;
      entry.closed = true;
      entry.sender = group[0]!.event.from ?? null;
      if (sender === '' && group[0]!.event.from === undefined) entry.sender = null;
      const firstClient = client ?? group[0]!.event.client ?? null;
      if (firstClient) entry.setClient(firstClient);
      for (const line of sessionLines) entry.add(line);
      for (const p of group) {
        entry.add(p.record);
        if (p.event.helo && entry.helo === null) entry.helo = p.event.helo;
        const attempt = {
          status: rejectStatus(p.event),
          at: p.at,
          host,
          relay: null,
          mailbox: null,
          dsn: p.event.dsn ?? null,
          reason: rejectReason(p.event),
        };
        for (const recipient of recipientsOf(p.event)) entry.attempt(recipient, attempt);
      }
      entry.events.sort((a, b) => a.at - b.at);
      this.stats.refused++;
      this.sink.message(entry.toRecord('refused'));
    }
  }

  // --- filters and mailbox delivery --------------------------------------------------------------

  private onFilterVerdict(frame: Frame, event: FilterVerdictEvent): void {
    if (event.qp !== undefined && !event.queueId) {
      // qmail-scanner/simscan run as qmail-queue: the entry they create is named later by its qp.
      this.pendingQp(frame.host, event.qp, frame.at).verdicts.push({ frame, event });
      return;
    }
    this.applyVerdict(this.filterTarget(frame, event.queueId, event.messageId), frame, event);
  }

  private applyVerdict(entry: QueueEntry, frame: Frame, event: FilterVerdictEvent): void {
    const record = evidence(frame, event.kind);
    entry.add(record);
    const scans = frame.pid === null ? undefined : this.takeScan(this.amavisScans, pidKey(frame));
    if (scans) for (const r of scans.records) entry.add(r);
    if (entry.messageId === null && event.messageId) this.setMessageId(entry, event.messageId);
    if (entry.sender === null && event.from !== undefined) entry.sender = event.from;
    if (entry.size === null && event.size !== undefined) entry.size = event.size;
    if (scans?.spam) entry.setSpam(scans.spam);
    else if (event.score !== undefined) {
      entry.setSpam({ score: event.score, required: undefined, isSpam: /SPAM/.test(event.category) });
    }
    const virus = event.virus ?? scans?.virus;
    if (virus) entry.virus = virus;
    if (event.subject && entry.subject === null) entry.subject = event.subject;
    for (const queueId of event.queuedAs) entry.addHandoff(queueId, frame.at, event.filter);
    const link = event.queueId
      ? 'Queue-ID'
      : event.qp !== undefined
        ? 'qp'
        : event.messageId
          ? 'Message-ID'
          : 'unlinked (the line names no queue id, process or message-id)';
    entry.links.add(`${event.filter} ${link}`);
    if (!event.passed) entry.blocked = event;
    if (entry.queueId === null) this.emitFragment(entry);
  }

  private onSpamResult(frame: Frame, event: SpamResultEvent): void {
    if (event.filterId && !event.messageId) {
      // amavis logs its spam check (SPAM-TAG) before its verdict line, from the same child process.
      const pending = this.pendingAmavisScan(frame.host, frame.pid, frame.at);
      pending.records.push(evidence(frame, event.kind));
      pending.spam = event;
      return;
    }
    const processing = event.messageId ? undefined : this.takeScan(this.spamdByPid, pidKey(frame));
    const messageId = event.messageId ?? processing?.messageId;
    const entry = this.filterTarget(frame, undefined, messageId);
    if (processing) for (const r of processing.records) entry.add(r);
    entry.add(evidence(frame, event.kind));
    entry.setSpam(event);
    entry.links.add(event.messageId ? `${event.scanner} mid` : `${event.scanner} pid`);
    if (entry.queueId === null) this.emitFragment(entry);
  }

  private onVirusFound(frame: Frame, event: VirusFoundEvent): void {
    if (event.amavisPid === undefined) {
      this.emitLoose(frame, event.kind, 'no link to a message: the scan names no amavis process');
      return;
    }
    const pending = this.pendingAmavisScan(frame.host, event.amavisPid, frame.at);
    pending.records.push(evidence(frame, event.kind));
    pending.virus ??= event.virus;
  }

  /** Scans waiting for the verdict of one amavis child process (clamd by temp folder, amavis SPAM-TAG). */
  private pendingAmavisScan(host: string, pid: number | null, at: number): PendingScan {
    const key = `${host}\u0000${pid ?? ''}`;
    let pending = this.amavisScans.get(key);
    if (!pending) {
      pending = { at, records: [] };
      this.amavisScans.set(key, pending);
    }
    return pending;
  }

  private onMailboxDelivery(frame: Frame, event: MailboxDeliveryEvent): void {
    const status = mailboxStatus(event.outcome);
    const detail = event.detail ?? null;
    const pending: PendingMailbox = {
      user: event.user,
      agent: event.agent,
      record: evidence(frame, event.kind),
      note: { mailbox: event.mailbox ?? null, status, detail, at: frame.at, host: frame.host },
    };
    if (event.messageId) {
      const key = messageIdKey(frame.host, event.messageId);
      const open = this.byMessageId.get(key);
      if (open) {
        // Several entries of this host may carry the message (one per recipient, as qmail sends it):
        // the one whose MTA line names the recipient takes the note; usually that line comes next.
        const named = [...open].find((e) => e.deliversTo(event.user));
        if (named) this.applyMailbox(named, pending);
        else this.mailboxNotes.set(key, [...(this.mailboxNotes.get(key) ?? []), pending]);
        return;
      }
    }
    this.mailboxFragment(frame.host, event, pending);
  }

  private applyMailbox(entry: QueueEntry, pending: PendingMailbox): void {
    entry.add(pending.record);
    entry.noteMailbox(pending.user, pending.note);
    entry.links.add(`${pending.agent} msgid`);
  }

  /** After an MTA delivery line: a waiting mailbox line for that recipient joins its entry. */
  private takeMailboxNote(entry: QueueEntry, recipient: string): void {
    if (!entry.messageId || this.mailboxNotes.size === 0) return;
    const key = messageIdKey(entry.host, entry.messageId);
    const notes = this.mailboxNotes.get(key);
    const index = notes?.findIndex((n) => n.user === recipient || n.user === localPart(recipient)) ?? -1;
    if (!notes || index < 0) return;
    this.applyMailbox(entry, notes[index]!);
    notes.splice(index, 1);
    if (notes.length === 0) this.mailboxNotes.delete(key);
  }

  /** Mailbox lines no delivery line claimed: the newest entry with the message-id takes them, else a fragment. */
  private releaseMailboxNotes(olderThan: number): void {
    for (const [key, notes] of [...this.mailboxNotes]) {
      const keep = notes.filter((n) => n.note.at >= olderThan);
      for (const n of notes) {
        if (n.note.at >= olderThan) continue;
        const [host, messageId] = key.split('\u0000') as [string, string];
        const open = this.latestByMessageId(host, messageId);
        if (open) this.applyMailbox(open, n);
        else
          this.mailboxFragment(
            host,
            {
              messageId,
              user: n.user,
              agent: n.agent,
              mailbox: n.note.mailbox ?? undefined,
              detail: n.note.detail ?? undefined,
            },
            n,
          );
      }
      if (keep.length) this.mailboxNotes.set(key, keep);
      else this.mailboxNotes.delete(key);
    }
  }

  private latestByMessageId(host: string, messageId: string): QueueEntry | undefined {
    let latest: QueueEntry | undefined;
    for (const entry of this.byMessageId.get(messageIdKey(host, messageId)) ?? []) latest = entry;
    return latest;
  }

  /**
   * No MTA line on this host names the message (Dovecot logs elsewhere, or LDA run by another MTA):
   * the mailbox line stands as a fragment that the store joins by message-id.
   */
  private mailboxFragment(
    host: string,
    event: Pick<MailboxDeliveryEvent, 'messageId' | 'user' | 'agent' | 'mailbox' | 'detail'>,
    pending: PendingMailbox,
  ): void {
    const { status, detail, at } = pending.note;
    const entry = new QueueEntry(host, null, at);
    entry.started = true;
    entry.closed = true;
    if (event.messageId) entry.messageId = event.messageId;
    entry.add(pending.record);
    entry.attempt(event.user, {
      status,
      at,
      host,
      relay: event.agent,
      mailbox: event.mailbox ?? null,
      dsn: null,
      reason: detail,
    });
    // The mailbox server reports an outcome, not an MTA attempt: joined with the MTA's delivery line in
    // the store it must count as the in-memory join does (not at all).
    for (const record of entry.deliveries.values()) record.attempts = 0;
    entry.links.add(`${event.agent} msgid`);
    this.emitFragment(entry);
  }

  /** Postfix names the DSN's queue id; qmail names the process that queues it (`bounce msg N qp M`). */
  private onNotification(frame: Frame, event: NotificationEvent): void {
    const original = this.entryFor(frame, event.queueId, event.kind);
    const record = original.events[original.events.length - 1]!;
    if (event.settlesDeferred) {
      original.settleOpen('bounced', frame.at, 'returned to the sender when the queue lifetime ran out');
    }
    const bounceOf = { host: frame.host, queueId: event.queueId };
    if (event.notificationQueueId) {
      const dsn = this.openEntry(frame.host, event.notificationQueueId, frame.at);
      this.startNotification(dsn, bounceOf, event.notification, record);
      original.links.add(`${event.notification} notification ${event.notificationQueueId}`);
    } else if (event.notificationQp !== undefined) {
      this.pendingQp(frame.host, event.notificationQp, frame.at).bounceOf = {
        ...bounceOf,
        notification: event.notification,
        record,
      };
      original.links.add(`${event.notification} notification qp ${event.notificationQp}`);
    }
  }

  private startNotification(
    dsn: QueueEntry,
    bounceOf: { host: string; queueId: string },
    notification: string,
    record: EventRecord,
  ): void {
    dsn.started = true;
    dsn.sender = '';
    dsn.bounceOf = bounceOf;
    dsn.links.add(`${notification} notification`);
    dsn.add(record);
  }

  /** qmail `new msg`/`info msg`, Exim `<=`, Sendmail `from=`: several facts of the entry at once. */
  private onQueueInfo(frame: Frame, event: QueueInfoEvent): void {
    const entry = event.starts
      ? this.startEntry(frame, event.queueId)
      : this.entryFor(frame, event.queueId, event.kind);
    if (event.from !== undefined) entry.sender = event.from;
    if (event.size !== undefined) entry.size = event.size;
    if (event.messageId !== undefined && entry.messageId === null) this.setMessageId(entry, event.messageId);
    if (event.client) entry.setClient(event.client);
    if (event.helo && entry.helo === null) entry.helo = event.helo;
    if (event.saslUsername) entry.saslUser = event.saslUsername;
    if (event.subject && entry.subject === null) entry.subject = event.subject;
    if (event.qp === undefined) return;
    const key = `${frame.host}\u0000${event.qp}`;
    const pending = this.byQp.get(key);
    if (!pending) return;
    this.byQp.delete(key);
    if (this.now - pending.at > SCAN_LINK_MS) {
      this.releasePendingQp(pending);
      return;
    }
    if (pending.bounceOf) {
      const { record, notification, ...bounceOf } = pending.bounceOf;
      this.startNotification(entry, bounceOf, notification, record);
    }
    for (const v of pending.verdicts) this.applyVerdict(entry, v.frame, v.event);
  }

  private onDeliveryResult(frame: Frame, event: DeliveryResultEvent): void {
    const key = `${frame.host}\u0000${event.deliveryId}`;
    const start = this.deliveryStarts.get(key);
    if (!start) {
      this.emitLoose(frame, event.kind, 'the start of this delivery was not read');
      return;
    }
    this.deliveryStarts.delete(key);
    const entry = this.entryFor(frame, start.queueId, event.kind);
    entry.attempt(start.to, {
      status: deliveryStatus(event.status),
      at: frame.at,
      host: frame.host,
      relay: event.relay ?? null,
      mailbox: null,
      dsn: event.dsn ?? null,
      reason: event.reply ?? null,
      handoff: event.status === 'sent' ? (event.queuedAs ?? null) : null,
    });
    if (event.queuedAs && event.status === 'sent')
      entry.addHandoff(event.queuedAs, frame.at, event.relay ?? null);
  }

  private pendingQp(host: string, qp: number, at: number): PendingQp {
    const key = `${host}\u0000${qp}`;
    let pending = this.byQp.get(key);
    if (!pending) {
      pending = { at, verdicts: [] };
      this.byQp.set(key, pending);
    }
    return pending;
  }

  /** Nothing came to claim them: verdicts stand as fragments (joined by message-id), nothing is lost. */
  private releasePendingQp(pending: PendingQp): void {
    for (const v of pending.verdicts) {
      const fragment = this.filterTarget(v.frame, undefined, v.event.messageId);
      this.applyVerdict(fragment, v.frame, v.event);
    }
  }

  /**
   * A list manager's line joins the open entry with the same message-id on its host, else stands as
   * a fragment joined by message-id. Held, rejected and discarded posts stop there: the list address
   * gets that status; a member the MTA refused is a bounced delivery.
   */
  private onListPost(frame: Frame, event: ListPostEvent): void {
    const entry = this.filterTarget(frame, undefined, event.messageId);
    entry.add(evidence(frame, event.kind));
    entry.links.add(event.list ? `${event.manager} list ${event.list}` : event.manager);
    if (event.subject && entry.subject === null) entry.subject = event.subject;
    const attempt = {
      at: frame.at,
      host: frame.host,
      relay: event.manager,
      mailbox: null,
      dsn: null,
      reason: event.reason ?? null,
    };
    if (
      event.list &&
      (event.outcome === 'held' || event.outcome === 'rejected' || event.outcome === 'discarded')
    ) {
      const status: DeliveryStatus =
        event.outcome === 'held' ? 'held' : event.outcome === 'rejected' ? 'bounced' : 'discarded';
      entry.attempt(event.list, { ...attempt, status });
    } else if (event.outcome === 'failed' && event.recipient) {
      entry.attempt(event.recipient, { ...attempt, status: 'bounced' });
    }
    if (entry.queueId === null) this.emitFragment(entry);
  }

  /** The entry a filter line belongs to: by queue id, else by message-id on the same host, else a fragment. */
  private filterTarget(frame: Frame, queueId: string | undefined, messageId: string | undefined): QueueEntry {
    if (queueId) {
      const byQueue = this.entries.get(entryKey(frame.host, queueId));
      if (byQueue) return byQueue;
    }
    if (messageId) {
      const byId = this.latestByMessageId(frame.host, messageId);
      if (byId) return byId;
    }
    const fragment = new QueueEntry(frame.host, null, frame.at);
    fragment.started = true;
    fragment.closed = true;
    if (messageId) fragment.messageId = messageId;
    return fragment;
  }

  private emitFragment(entry: QueueEntry): void {
    this.stats.fragments++;
    this.sink.message(entry.toRecord());
  }

  private takeScan(map: Map<string, PendingScan>, key: string): PendingScan | undefined {
    const scan = map.get(key);
    if (!scan) return undefined;
    map.delete(key);
    return this.now - scan.at <= SCAN_LINK_MS ? scan : undefined;
  }

  // --- loose lines and housekeeping ---------------------------------------------------------------

  private emitLoose(frame: Frame, kind: string, reason?: string): void {
    this.emitLooseRecord(evidence(frame, kind), reason);
  }

  private emitLooseRecord(record: EventRecord, reason?: string): void {
    this.stats.loose++;
    const line: LooseLine = { ...record };
    if (reason !== undefined) line.reason = reason;
    this.sink.loose(line);
  }

  /** Emits what has been idle too long, so that memory stays bounded on endless input. */
  private sweep(): void {
    this.sinceSweep = 0;
    const entryCutoff = this.now - this.entryIdleMs;
    for (const entry of [...this.entries.values()]) {
      if (entry.lastSeen >= entryCutoff) continue;
      this.stats.expired++;
      this.emitEntry(entry);
    }
    const sessionCutoff = this.now - this.sessionIdleMs;
    for (const [key, session] of [...this.sessions])
      if (session.lastAt < sessionCutoff) this.closeSession(key);
    for (const [key, start] of [...this.deliveryStarts])
      if (start.at < entryCutoff) this.deliveryStarts.delete(key);
    this.releaseMailboxNotes(this.now - SCAN_LINK_MS);
    for (const [key, pending] of [...this.byQp]) {
      if (this.now - pending.at <= SCAN_LINK_MS) continue;
      this.byQp.delete(key);
      this.releasePendingQp(pending);
    }
    for (const map of [this.spamdByPid, this.amavisScans]) {
      for (const [key, scan] of [...map]) {
        if (this.now - scan.at <= SCAN_LINK_MS) continue;
        map.delete(key);
        for (const r of scan.records) this.emitLooseRecord(r, 'no message found for this scan');
      }
    }
    this.updateOpenCounts();
  }

  private updateOpenCounts(): void {
    this.stats.openEntries = this.entries.size;
    this.stats.openSessions = this.sessions.size;
  }
}

function entryKey(host: string, queueId: string): string {
  return `${host}\u0000${queueId}`;
}

function messageIdKey(host: string, messageId: string): string {
  return `${host}\u0000${messageId}`;
}

/**
 * An smtpd process serves one client at a time: its session is keyed by pid. postscreen is one process
 * for every client: its sessions are keyed by the client's address and port (`CONNECT from [ip]:port`
 * ... `DISCONNECT [ip]:port`).
 */
function sessionKey(frame: Frame, client?: ClientRef, session?: string): string {
  if (session !== undefined) return `${frame.host}\u0000${frame.program}\u0000s${session}`;
  if (client?.ip && frame.program.endsWith('postscreen')) {
    return `${frame.host}\u0000${frame.program}\u0000${client.ip}\u0000${client.port ?? ''}`;
  }
  return `${frame.host}\u0000${frame.program}\u0000${frame.pid ?? ''}`;
}

function pidKey(frame: Frame): string {
  return `${frame.host}\u0000${frame.pid ?? ''}`;
}

function deliveryStatus(status: DeliveryEvent['status']): DeliveryStatus {
  switch (status) {
    case 'sent':
      return 'delivered';
    case 'undeliverable':
      return 'bounced';
    default:
      return status;
  }
}

function mailboxStatus(outcome: MailboxDeliveryEvent['outcome']): DeliveryStatus {
  switch (outcome) {
    case 'discarded':
      return 'discarded';
    case 'rejected':
      return 'bounced';
    case 'failed':
      return 'deferred';
    default:
      return 'delivered';
  }
}

/** Every recipient a refusal names (`to`, and the others simscan/qmail-scanner list); '' when none. */
function recipientsOf(event: RejectEvent): string[] {
  const first = event.to ?? '';
  return event.alsoTo?.length ? [first, ...event.alsoTo] : [first];
}

function rejectStatus(event: RejectEvent): DeliveryStatus {
  if (event.action === 'discard') return 'discarded';
  if (event.action === 'hold') return 'held';
  return 'rejected';
}

function rejectReason(event: RejectEvent): string {
  const code = [event.code, event.dsn].filter((x) => x !== undefined).join(' ');
  return code ? `${code} ${event.reason}` : event.reason;
}

/** A refusal at or after the end of data (cleanup, milter at END-OF-MESSAGE) ends the whole queue entry. */
function isWholeMessageReject(frame: Frame, event: RejectEvent): boolean {
  if (event.action === 'hold') return false;
  if (frame.program.endsWith('/cleanup')) return true;
  return event.stage === 'END-OF-MESSAGE' || event.stage === 'DATA';
}
