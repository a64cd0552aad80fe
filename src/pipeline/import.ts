import { stat } from 'node:fs/promises';
import type { FramedLine } from '../core/frame.js';
import { isInvalid } from '../core/frame.js';
import type { LineStats, LooseLine, MessageRecord } from '../core/model.js';
import { Correlator, type CorrelatorStats } from '../correlator/index.js';
import { Framer } from '../framing/index.js';
import type { FramingOptions, LogFormat } from '../framing/types.js';
import { ParserRegistry } from '../parsers/registry.js';
import { type ReadLinesError, readLineBatches, sniffFile, streamFingerprint } from '../sources/lines.js';
import type { Store } from '../store/index.js';
import { MergedStreams, type TimedStream } from './merge-streams.js';
import { type ShapeGroup, ShapeTally } from './shapes.js';

/** Settings for lines whose header does not say them, shared by every file of one import. */
export interface ImportSettings {
  host?: string;
  program?: string;
  format: LogFormat;
  encoding: string;
  timeZone?: string;
}

export interface ImportProgress {
  bytesDone: number;
  bytesTotal: number;
  lines: number;
}

/** Line counts per host and program (core's LineStats). */
export type LineCount = LineStats;

export interface FileReport {
  path: string;
  bytes: number;
  lines: number;
  /** Why the file was skipped or cut short; absent when it was read to its end. */
  problem?: string;
}

export interface ImportSummary {
  files: FileReport[];
  lines: number;
  parsed: number;
  unknown: number;
  invalid: number;
  counts: LineCount[];
  pieces: number;
  correlator: CorrelatorStats;
  elapsedMs: number;
  firstLineAt: number | null;
  lastLineAt: number | null;
  /** The most frequent shapes of unrecognised lines per host and program (pipeline/shapes.ts). */
  unknownShapes: ShapeGroup[];
}

export interface ImportOptions {
  files: string[];
  store: Store;
  settings: ImportSettings;
  onProgress?: (progress: ImportProgress) => void;
  /** Message pieces per database transaction. */
  batchSize?: number;
  /** The parsers to use (with declared ones first); default: the built-in parsers. */
  registry?: ParserRegistry;
  /** Unknown-line shapes kept per host and program in the summary (default 10). */
  topShapes?: number;
}

const DEFAULT_BATCH = 2000;
const LOOSE_BATCH = 20_000;
const PROGRESS_EVERY_LINES = 50_000;
export const DEFAULT_TOP_SHAPES = 10;

/**
 * Reads every file, frames, parses and correlates their lines, and saves the result in batches.
 * Files are read side by side and their lines merged in time order, so that the files of several
 * hosts, or a rotated set given in any order, correlate as if they were one log. A file that cannot
 * be read is reported and skipped; a file cut short keeps the lines before the cut.
 */
export async function importFiles(options: ImportOptions): Promise<ImportSummary> {
  const started = Date.now();
  const { store, settings } = options;
  const registry = options.registry ?? new ParserRegistry();
  const shapes = new ShapeTally();
  const counts = new Map<string, LineCount>();
  const pending: { messages: MessageRecord[]; loose: LooseLine[] } = { messages: [], loose: [] };
  const correlator = new Correlator({
    message: (record) => pending.messages.push(record),
    loose: (line) => pending.loose.push(line),
  });
  const reports: FileReport[] = [];
  const streams = await openStreams(options.files, settings, reports);
  const progress: ImportProgress = {
    bytesDone: 0,
    bytesTotal: reports.reduce((sum, r) => sum + r.bytes, 0),
    lines: 0,
  };
  const summary: ImportSummary = {
    files: reports,
    lines: 0,
    parsed: 0,
    unknown: 0,
    invalid: 0,
    counts: [],
    pieces: 0,
    correlator: correlator.stats,
    elapsedMs: 0,
    firstLineAt: null,
    lastLineAt: null,
    unknownShapes: [],
  };
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const save = async (): Promise<void> => {
    if (pending.messages.length === 0 && pending.loose.length === 0) return;
    const batch = { messages: pending.messages, looseLines: pending.loose };
    summary.pieces += pending.messages.length;
    pending.messages = [];
    pending.loose = [];
    await store.saveBatch(batch);
  };

  const merged = new MergedStreams(streams);
  for (;;) {
    const line = await merged.next();
    if (line === null) break;
    summary.lines++;
    trackTimes(summary, line.at);
    if (isInvalid(line)) {
      summary.invalid++;
      countLine(counts, line.host, line.program, null).invalid++;
      correlator.pushInvalid(line);
    } else {
      const { parser, event } = registry.parse(line);
      const count = countLine(counts, line.host, line.program, parser?.name ?? null);
      if (event) {
        summary.parsed++;
        count.parsed++;
      } else {
        summary.unknown++;
        count.unknown++;
        shapes.add(line.host, line.program, line.text);
      }
      correlator.push(line, event, parser?.name ?? null);
    }
    if (pending.messages.length >= batchSize || pending.loose.length >= LOOSE_BATCH) await save();
    if (options.onProgress && summary.lines % PROGRESS_EVERY_LINES === 0) {
      progress.lines = summary.lines;
      progress.bytesDone = merged.bytesDone();
      options.onProgress(progress);
    }
  }
  correlator.flush();
  await save();
  for (const stream of streams) {
    const report = reports.find((r) => r.path === stream.path);
    if (report) report.lines = stream.linesRead;
  }
  progress.lines = summary.lines;
  progress.bytesDone = progress.bytesTotal;
  options.onProgress?.(progress);
  summary.counts = [...counts.values()].sort((a, b) => b.seen - a.seen);
  summary.unknownShapes = shapes.top(options.topShapes ?? DEFAULT_TOP_SHAPES);
  summary.elapsedMs = Date.now() - started;
  return summary;
}

function trackTimes(summary: ImportSummary, at: number): void {
  if (summary.firstLineAt === null || at < summary.firstLineAt) summary.firstLineAt = at;
  if (summary.lastLineAt === null || at > summary.lastLineAt) summary.lastLineAt = at;
}

export function countLine(
  counts: Map<string, LineCount>,
  host: string,
  program: string,
  parser: string | null,
): LineCount {
  const key = `${host}\u0000${program}`;
  let count = counts.get(key);
  if (!count) {
    count = { host, program, parser, seen: 0, parsed: 0, unknown: 0, invalid: 0 };
    counts.set(key, count);
  }
  count.seen++;
  return count;
}

/** One file as a time-ordered stream of framed lines, read in batches. */
class FileStream implements TimedStream {
  linesRead = 0;
  bytesRead = 0;
  private readonly batches: AsyncGenerator<import('../sources/lines.js').RawLine[]>;
  private readonly framer: Framer;

  constructor(
    readonly path: string,
    framing: FramingOptions,
    private readonly report: FileReport,
  ) {
    this.framer = new Framer(framing);
    this.batches = readLineBatches(path, { onError: (error) => this.onError(error) });
  }

  async nextBatch(): Promise<FramedLine[] | null> {
    const next = await this.batches.next();
    if (next.done) return null;
    const framed: FramedLine[] = [];
    for (const raw of next.value) {
      this.bytesRead = raw.offset + raw.bytes.length + 1;
      // An empty line carries nothing to keep (logs end with one, editors add them).
      if (raw.bytes.length === 0) continue;
      framed.push(this.framer.frame(raw));
    }
    this.linesRead += framed.length;
    return framed;
  }

  private onError(error: ReadLinesError): void {
    this.report.problem = error.message;
  }
}

export async function openStreams(
  paths: string[],
  settings: ImportSettings,
  reports: FileReport[],
): Promise<FileStream[]> {
  const streams: FileStream[] = [];
  for (const path of paths) {
    const report: FileReport = { path, bytes: 0, lines: 0 };
    reports.push(report);
    try {
      const info = await stat(path);
      if (!info.isFile()) {
        report.problem = 'not a regular file';
        continue;
      }
      report.bytes = info.size;
      const sniff = await sniffFile(path);
      if (sniff.binary) {
        report.problem = 'not a log file: binary content';
        continue;
      }
      const stream = streamFingerprint(sniff);
      const framing: FramingOptions = {
        source: path,
        file: path,
        ...(stream ? { stream } : {}),
        format: settings.format,
        encoding: settings.encoding,
        referenceTime: info.mtimeMs,
      };
      if (settings.timeZone) framing.timeZone = settings.timeZone;
      if (settings.host) framing.host = settings.host;
      if (settings.program) framing.program = settings.program;
      streams.push(new FileStream(path, framing, report));
    } catch (error) {
      report.problem = describeError(error);
    }
  }
  return streams;
}

export function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: string }).code;
    if (code === 'ENOENT') return 'no such file';
    if (code === 'EACCES') return 'permission denied';
    if (code === 'EISDIR') return 'is a directory';
  }
  return error instanceof Error ? error.message : String(error);
}
