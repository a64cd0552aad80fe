/**
 * What a declared rule can build: for every event kind of `src/core/events.ts`, its fields, the type each
 * one is read as, and which ones an event cannot go without. The mapped types below make the compiler
 * check these names against the event interfaces, and fail when a kind is added without a table here.
 */
import type { AttemptStatus, EventKind, MailEvent } from '../../core/events.js';

/**
 * How a captured string becomes a field value:
 * - `text`: bounded string; `address`: `normalizeAddress` (`<>` is the null sender, kept as '');
 * - `user`: a user name as Dovecot logs it: an address when it has an `@`, else lower-cased;
 * - `message-id`: `normalizeMessageId`; `int` / `number`: decimal numbers; `boolean`: true/yes/on/1, false/no/off/0;
 * - `address-list` / `text-list`: comma-separated values;
 * - `client`: a `ClientRef`, filled from the `<field>Name`, `<field>Ip` and `<field>Port` fields;
 * - an array of strings: one of those values (matched case-insensitively, stored as written here).
 */
export type FieldType =
  | 'text'
  | 'address'
  | 'user'
  | 'message-id'
  | 'int'
  | 'number'
  | 'boolean'
  | 'address-list'
  | 'text-list'
  | 'client'
  | readonly string[];

type EventOf<K extends EventKind> = Extract<MailEvent, { kind: K }>;
type FieldOf<K extends EventKind> = Exclude<keyof EventOf<K>, 'kind'> & string;

export interface KindSpec<K extends EventKind = EventKind> {
  readonly fields: { readonly [F in FieldOf<K>]?: FieldType };
  /** Fields the event cannot go without (a `client` field: at least one of its parts). */
  readonly required: readonly FieldOf<K>[];
  /** Values of required list fields a rule need not give. */
  readonly defaults?: { readonly [F in FieldOf<K>]?: readonly never[] };
}

const STATUSES: readonly AttemptStatus[] = [
  'sent',
  'deferred',
  'bounced',
  'expired',
  'discarded',
  'undeliverable',
];

/** The parts of a `client` field, as field names: `clientIp` is `client.ip`. */
export const CLIENT_PARTS = { Name: 'name', Ip: 'ip', Port: 'port' } as const;

export const KINDS: { readonly [K in EventKind]: KindSpec<K> } = {
  connect: { fields: { client: 'client', session: 'text' }, required: ['client'] },
  disconnect: { fields: { client: 'client', session: 'text', stats: 'text' }, required: ['client'] },
  reject: {
    fields: {
      queueId: 'text',
      action: ['reject', 'milter-reject', 'discard', 'hold', 'redirect', 'filter'],
      stage: 'text',
      client: 'client',
      code: 'int',
      dsn: 'text',
      reason: 'text',
      from: 'address',
      to: 'address',
      helo: 'text',
      proto: 'text',
      session: 'text',
      alsoTo: 'address-list',
    },
    required: ['action', 'reason'],
  },
  'queue-client': {
    fields: {
      queueId: 'text',
      client: 'client',
      saslMethod: 'text',
      saslUsername: 'text',
      origQueueId: 'text',
      origClient: 'client',
    },
    required: ['queueId', 'client'],
  },
  'queue-pickup': { fields: { queueId: 'text', uid: 'int', from: 'address' }, required: ['queueId'] },
  'message-id': {
    fields: { queueId: 'text', messageId: 'message-id', resent: 'boolean' },
    required: ['queueId', 'messageId'],
  },
  'header-check': {
    fields: {
      queueId: 'text',
      action: 'text',
      part: 'text',
      header: 'text',
      value: 'text',
      client: 'client',
      from: 'address',
      to: 'address',
      helo: 'text',
      text: 'text',
    },
    required: ['queueId', 'action', 'part', 'value'],
  },
  'queue-active': {
    fields: { queueId: 'text', from: 'address', size: 'int', nrcpt: 'int' },
    required: ['queueId', 'from'],
  },
  'queue-info': {
    fields: {
      queueId: 'text',
      starts: 'boolean',
      from: 'address',
      size: 'int',
      nrcpt: 'int',
      messageId: 'message-id',
      client: 'client',
      helo: 'text',
      saslUsername: 'text',
      proto: 'text',
      qp: 'int',
      uid: 'int',
      subject: 'text',
    },
    required: ['queueId', 'starts'],
  },
  'delivery-start': {
    fields: { deliveryId: 'text', queueId: 'text', to: 'address', channel: ['local', 'remote'] },
    required: ['deliveryId', 'queueId', 'to', 'channel'],
  },
  'delivery-result': {
    fields: {
      deliveryId: 'text',
      status: STATUSES,
      reply: 'text',
      relay: 'text',
      dsn: 'text',
      queuedAs: 'text',
    },
    required: ['deliveryId', 'status'],
  },
  'queue-removed': { fields: { queueId: 'text' }, required: ['queueId'] },
  'queue-expired': { fields: { queueId: 'text', from: 'address' }, required: ['queueId'] },
  delivery: {
    fields: {
      queueId: 'text',
      to: 'address',
      origTo: 'address',
      relay: 'text',
      delay: 'number',
      delays: 'text',
      dsn: 'text',
      status: STATUSES,
      reply: 'text',
      queuedAs: 'text',
      mailbox: 'text',
      connUse: 'int',
      alsoTo: 'address-list',
    },
    required: ['queueId', 'to', 'status'],
  },
  notification: {
    fields: {
      queueId: 'text',
      notificationQueueId: 'text',
      notificationQp: 'int',
      notification: 'text',
      settlesDeferred: 'boolean',
    },
    required: ['queueId', 'notification'],
  },
  'queue-admin': {
    fields: { queueId: 'text', action: ['deleted', 'held', 'released', 'requeued'] },
    required: ['queueId', 'action'],
  },
  'mailbox-delivery': {
    fields: {
      user: 'user',
      messageId: 'message-id',
      mailbox: 'text',
      outcome: ['saved', 'forwarded', 'discarded', 'rejected', 'failed', 'vacation', 'duplicate'],
      detail: 'text',
      session: 'text',
      agent: 'text',
    },
    required: ['user', 'outcome', 'agent'],
  },
  'list-post': {
    fields: {
      manager: 'text',
      list: 'text',
      messageId: 'message-id',
      from: 'address',
      size: 'int',
      outcome: ['posted', 'sent', 'held', 'rejected', 'discarded', 'failed'],
      recipients: 'int',
      recipient: 'address',
      reason: 'text',
      subject: 'text',
    },
    required: ['manager', 'list', 'outcome'],
  },
  'filter-verdict': {
    fields: {
      filter: 'text',
      action: 'text',
      category: 'text',
      passed: 'boolean',
      virus: 'text',
      queueId: 'text',
      messageId: 'message-id',
      from: 'address',
      to: 'address-list',
      score: 'number',
      size: 'int',
      queuedAs: 'text-list',
      quarantine: 'text',
      clientIp: 'text',
      filterId: 'text',
      qp: 'int',
      subject: 'text',
    },
    required: ['filter', 'action', 'category', 'passed', 'to', 'queuedAs'],
    defaults: { queuedAs: [] },
  },
  'spam-result': {
    fields: {
      scanner: 'text',
      messageId: 'message-id',
      score: 'number',
      required: 'number',
      isSpam: 'boolean',
      tests: 'text-list',
      size: 'int',
      user: 'text',
      filterId: 'text',
    },
    required: ['scanner', 'score', 'isSpam'],
  },
  'spam-processing': {
    fields: { scanner: 'text', messageId: 'message-id', user: 'text' },
    required: ['scanner', 'messageId'],
  },
  'virus-found': {
    fields: { scanner: 'text', virus: 'text', target: 'text', amavisPid: 'int' },
    required: ['scanner', 'virus', 'target'],
  },
  login: {
    fields: {
      service: 'text',
      user: 'user',
      success: 'boolean',
      method: 'text',
      remoteIp: 'text',
      localIp: 'text',
      reason: 'text',
    },
    required: ['service', 'success'],
  },
  info: { fields: { queueId: 'text', client: 'client', label: 'text' }, required: ['label'] },
};

export const EVENT_KINDS = Object.keys(KINDS) as EventKind[];

/** The loosely typed view the compiler works with. */
export function specOf(kind: EventKind): KindSpec<EventKind> {
  return KINDS[kind] as unknown as KindSpec<EventKind>;
}

/** A field name a rule may set: a field of the kind, or a part of one of its `client` fields. */
export interface FieldTarget {
  /** The event's field. */
  field: string;
  /** For a `client` field: which part (`name`, `ip`, `port`). */
  part?: 'name' | 'ip' | 'port';
  type: FieldType;
}

/** Every name a rule of this kind may set, with where it goes. */
export function targetsOf(kind: EventKind): Map<string, FieldTarget> {
  const targets = new Map<string, FieldTarget>();
  for (const [field, type] of Object.entries(specOf(kind).fields) as [string, FieldType][]) {
    if (type !== 'client') {
      targets.set(field, { field, type });
      continue;
    }
    for (const [suffix, part] of Object.entries(CLIENT_PARTS)) {
      targets.set(`${field}${suffix}`, { field, part, type: part === 'port' ? 'int' : 'text' });
    }
  }
  return targets;
}
