import {
  type LineStats,
  type LooseLine,
  type MessageRecord,
  QUERY_KINDS,
  type QueryKind,
} from '../core/model.js';

export type { LineStats, LooseLine };

/** What one import step hands to the store: correlated message pieces and the lines that belong to none. */
export interface SaveBatch {
  messages: MessageRecord[];
  looseLines: LooseLine[];
}

export interface SaveResult {
  /** Messages stored as new rows. */
  inserted: number;
  /** Stored messages that took in at least one new piece. */
  merged: number;
  /** Stored messages deleted because a piece showed they were one message with another stored one. */
  collapsed: number;
  /** Pieces whose lines were all stored already (a re-save): nothing written. */
  duplicates: number;
  /** Event rows written. */
  events: number;
  /** Loose line rows written (a line already stored is not written again). */
  looseLines: number;
}

export type TraceBy = QueryKind;

/** The trace query kinds (core's QUERY_KINDS). */
export const TRACE_KINDS = QUERY_KINDS;

export interface TraceQuery {
  by: TraceBy;
  value: string;
  /** Only messages whose [firstSeen, lastSeen] overlaps [from, to] (epoch ms, both inclusive). */
  from?: number;
  to?: number;
  /** Default 100. */
  limit?: number;
}

export interface TimeRange {
  from?: number;
  to?: number;
}

export interface LooseLineQuery extends TimeRange {
  kind?: string;
  /** Default 100. */
  limit?: number;
}

export interface PurgeResult {
  messages: number;
  deliveries: number;
  queueRefs: number;
  handoffs: number;
  events: number;
  looseLines: number;
}

export interface ImportRun {
  startedAt: number;
  finishedAt: number;
  /** Files read, as given. */
  files: string[];
  stats: LineStats[];
  /** The most frequent shapes of the lines no parser recognised (read back with `unknownShapes`). */
  unknownShapes?: UnknownShapes[];
}

/** Shapes of unrecognised lines of one host and program, most frequent first (pipeline/shapes.ts). */
export interface UnknownShapes {
  host: string;
  program: string;
  shapes: { shape: string; count: number; example: string }[];
}

export interface StoredImportRun extends ImportRun {
  id: number;
}

export interface StoreCounts {
  messages: number;
  deliveries: number;
  events: number;
  /** Loose lines of kind `unknown`. */
  unknownLines: number;
  /** All loose lines (unknown, invalid and message-less events). */
  looseLines: number;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Brings the schema to the latest migration; running it again does nothing. */
  migrate(): Promise<void>;
  /** Saves and merges one batch in one transaction. */
  saveBatch(batch: SaveBatch): Promise<SaveResult>;
  /** Full records (deliveries and events included), newest first. */
  trace(query: TraceQuery): Promise<MessageRecord[]>;
  /** Every message overlapping the range, in firstSeen order, read in pages (bounded memory). */
  exportMessages(range: TimeRange): AsyncIterable<MessageRecord>;
  /** Deletes messages whose lastSeen < before (with their rows) and loose lines with at < before. */
  purge(before: number): Promise<PurgeResult>;
  recordImport(run: ImportRun): Promise<void>;
  /** Import runs, newest first. */
  importRuns(limit?: number): Promise<StoredImportRun[]>;
  /** The unknown-line shapes an import run recorded, by host and program. */
  unknownShapes(runId: number): Promise<UnknownShapes[]>;
  /** Loose lines in time order. */
  looseLines(query: LooseLineQuery): Promise<LooseLine[]>;
  counts(): Promise<StoreCounts>;
  close(): Promise<void>;
}
