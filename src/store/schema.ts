import type { Generated, Kysely } from 'kysely';

/**
 * Row types of the tables created by the migrations (docs/schema.md describes them). Times are epoch
 * milliseconds (INTEGER / int8). Booleans are INTEGER 0/1 on SQLite and boolean on PostgreSQL, hence
 * `Bool`; the codec turns them back into booleans. Text columns hold codec-encoded strings (codec.ts).
 */
export type Bool = boolean | number;

export interface NamesTable {
  id: Generated<number>;
  value: string;
}

export interface MessagesTable {
  id: number;
  message_id: string | null;
  sender: string | null;
  first_seen: number;
  last_seen: number;
  subject: string | null;
  /** Lower-cased subject for substring search, null when the subject is already lower-case. */
  subject_fold: string | null;
  client_ip: string | null;
  /** Number of deliveries in the record (for `counts()`). */
  delivery_count: number;
  /** Where the rest of the record is: a slot of an event page (record.ts). */
  page_id: number;
  slot: number;
}

/** Every recipient and original recipient of a message: trace by recipient and address. */
export interface RecipientsTable {
  address: string;
  message_id: number;
}

/** The message's queue entries, keyed by queue id: merge rules 1 and 3, trace by queue id. */
export interface QueueRefsTable {
  queue_id: string;
  message_id: number;
  /** Position in the record's `queueIds`. */
  seq: number;
  host_id: number;
  first_seen: number;
  last_seen: number;
  closed: Bool;
}

/** The message's hand-offs (`queued as X`), keyed by the queue id handed to: merge rule 3. */
export interface HandoffsTable {
  queue_id: string;
  message_id: number;
  seq: number;
  at: number;
}

/** Event lines and message records, compressed (pages.ts). */
export interface EventPagesTable {
  id: number;
  lines: number;
  meta: Uint8Array;
  text: Uint8Array;
}

/** Which message each slot of an event page belongs to (re-pointed when messages are collapsed). */
export interface EventSlotsTable {
  page_id: number;
  slot: number;
  message_id: number;
  lines: number;
}

/** Loose lines, compressed (pages.ts). */
export interface LoosePagesTable {
  id: number;
  first_at: number;
  last_at: number;
  lines: number;
  meta: Uint8Array;
  text: Uint8Array;
}

/** How many lines of each kind a loose page holds. */
export interface LooseKindsTable {
  kind_id: number;
  page_id: number;
  lines: number;
}

/** One row (id 1): the write generation, raised by every transaction that changes lines or messages. */
export interface StoreStateTable {
  id: number;
  generation: number;
}

/** Offset runs of a page's lines per origin (event_spans, loose_spans): the stored-line lookup. */
export interface SpansTable {
  origin_id: number;
  min_offset: number;
  page_id: number;
  max_offset: number;
  /** Bloom filter of the run's offsets (pages.ts `offsetFilter`). */
  filter: Uint8Array;
}

export interface ImportRunsTable {
  id: Generated<number>;
  started_at: number;
  finished_at: number;
}

export interface ImportFilesTable {
  run_id: number;
  seq: number;
  path: string;
}

export interface LineStatsTable {
  run_id: number;
  host: string;
  program: string;
  parser: string | null;
  seen: number;
  parsed: number;
  unknown: number;
  invalid: number;
}

export interface UnknownShapesTable {
  run_id: number;
  host: string;
  program: string;
  /** Rank within the run's host and program, 0 the most frequent. */
  seq: number;
  shape: string;
  count: number;
  example: string;
}

export interface Database {
  names: NamesTable;
  messages: MessagesTable;
  recipients: RecipientsTable;
  queue_refs: QueueRefsTable;
  handoffs: HandoffsTable;
  event_pages: EventPagesTable;
  event_slots: EventSlotsTable;
  event_spans: SpansTable;
  loose_pages: LoosePagesTable;
  loose_kinds: LooseKindsTable;
  loose_spans: SpansTable;
  store_state: StoreStateTable;
  import_runs: ImportRunsTable;
  import_files: ImportFilesTable;
  line_stats: LineStatsTable;
  unknown_shapes: UnknownShapesTable;
}

export type Db = Kysely<Database>;
export type Dialect = 'sqlite' | 'postgres';
