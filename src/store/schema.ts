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
  kind: string;
  message_id: string | null;
  sender: string | null;
  first_seen: number;
  last_seen: number;
  subject: string | null;
  /** Lower-cased subject for substring search, null when the subject is already lower-case. */
  subject_fold: string | null;
  size: number | null;
  client_ip: string | null;
  client_name: string | null;
  helo: string | null;
  sasl_user: string | null;
  spam_score: number | null;
  spam_required: number | null;
  is_spam: Bool | null;
  virus: string | null;
  partial: Bool;
  complete: Bool;
  /** JSON array of strings. */
  links: string;
  bounce_of_host: string | null;
  bounce_of_queue_id: string | null;
}

export interface DeliveriesTable {
  message_id: number;
  seq: number;
  recipient: string;
  orig_recipient: string | null;
  status: string;
  at: number;
  host: string;
  relay: string | null;
  mailbox: string | null;
  dsn: string | null;
  reason: string | null;
  attempts: number;
  queue_id: string | null;
  handoff: string | null;
}

export interface QueueRefsTable {
  message_id: number;
  seq: number;
  host: string;
  queue_id: string;
  first_seen: number;
  last_seen: number;
  closed: Bool;
}

export interface HandoffsTable {
  message_id: number;
  seq: number;
  queue_id: string;
  at: number;
  relay: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  message_id: number;
  at: number;
  host_id: number;
  program_id: number;
  kind_id: number;
  origin_id: number;
  line_offset: number;
  /** firstSeen of the piece the line was saved with; orders lines with equal `at`. */
  piece_start: number;
  text: string;
}

export interface LooseLinesTable {
  id: Generated<number>;
  at: number;
  host_id: number;
  program_id: number;
  kind_id: number;
  origin_id: number;
  line_offset: number;
  text: string;
  reason: string | null;
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

export interface Database {
  names: NamesTable;
  messages: MessagesTable;
  deliveries: DeliveriesTable;
  queue_refs: QueueRefsTable;
  handoffs: HandoffsTable;
  events: EventsTable;
  loose_lines: LooseLinesTable;
  import_runs: ImportRunsTable;
  import_files: ImportFilesTable;
  line_stats: LineStatsTable;
}

export type Db = Kysely<Database>;
export type Dialect = 'sqlite' | 'postgres';
