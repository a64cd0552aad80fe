/**
 * How much of a set of log files the parsers understand, without a database: lines per host and
 * program, how many were parsed, not recognised, or had an unreadable header, and the most frequent
 * shapes of the lines not understood (shapes.ts), which say what a parser or a declared rule
 * (docs/declared-parsers.md) is missing. Files are read and framed exactly as `importFiles` reads them.
 */
import { isInvalid } from '../core/frame.js';
import type { LineStats } from '../core/model.js';
import { ParserRegistry } from '../parsers/registry.js';
import {
  countLine,
  DEFAULT_TOP_SHAPES,
  type FileReport,
  type ImportSettings,
  openStreams,
} from './import.js';
import { type ShapeCount, ShapeTally } from './shapes.js';

export interface CoverageOptions {
  files: string[];
  settings: ImportSettings;
  /** The parsers to use (with declared ones first); default: the built-in parsers. */
  registry?: ParserRegistry;
  /** Shapes kept per host and program (default 10). */
  top?: number;
}

export interface ProgramCoverage extends LineStats {
  /** The most frequent shapes of the lines no parser recognised, with a first example of each. */
  unknownShapes: ShapeCount[];
  /** Unrecognised lines whose shape was not tallied (the bounded tally was full). */
  untallied: number;
  /** The most frequent shapes of whole lines whose header could not be read. */
  invalidShapes: ShapeCount[];
}

export interface CoverageReport {
  files: FileReport[];
  lines: number;
  parsed: number;
  unknown: number;
  invalid: number;
  /** Most lines first. */
  programs: ProgramCoverage[];
  elapsedMs: number;
}

export async function analyseCoverage(options: CoverageOptions): Promise<CoverageReport> {
  const started = Date.now();
  const registry = options.registry ?? new ParserRegistry();
  const counts = new Map<string, LineStats>();
  const unknownShapes = new ShapeTally();
  const invalidShapes = new ShapeTally();
  const report: CoverageReport = {
    files: [],
    lines: 0,
    parsed: 0,
    unknown: 0,
    invalid: 0,
    programs: [],
    elapsedMs: 0,
  };
  // Counts do not depend on order: each file is read in turn rather than merged by time.
  for (const stream of await openStreams(options.files, options.settings, report.files)) {
    for (let batch = await stream.nextBatch(); batch !== null; batch = await stream.nextBatch()) {
      for (const line of batch) {
        report.lines++;
        if (isInvalid(line)) {
          report.invalid++;
          countLine(counts, line.host, line.program, null).invalid++;
          invalidShapes.add(line.host, line.program, line.raw);
          continue;
        }
        const { parser, event } = registry.parse(line);
        const count = countLine(counts, line.host, line.program, parser?.name ?? null);
        if (event !== null) {
          report.parsed++;
          count.parsed++;
        } else {
          report.unknown++;
          count.unknown++;
          unknownShapes.add(line.host, line.program, line.text);
        }
      }
    }
    const file = report.files.find((f) => f.path === stream.path);
    if (file) file.lines = stream.linesRead;
  }
  report.programs = programsOf(counts, unknownShapes, invalidShapes, options.top ?? DEFAULT_TOP_SHAPES);
  report.elapsedMs = Date.now() - started;
  return report;
}

function programsOf(
  counts: Map<string, LineStats>,
  unknown: ShapeTally,
  invalid: ShapeTally,
  top: number,
): ProgramCoverage[] {
  const key = (host: string, program: string) => `${host}\u0000${program}`;
  const unknownByKey = new Map(unknown.top(top).map((g) => [key(g.host, g.program), g]));
  const invalidByKey = new Map(invalid.top(top).map((g) => [key(g.host, g.program), g]));
  const programs = [...counts.values()].map((stats): ProgramCoverage => {
    const u = unknownByKey.get(key(stats.host, stats.program));
    const i = invalidByKey.get(key(stats.host, stats.program));
    return {
      ...stats,
      unknownShapes: u?.shapes ?? [],
      untallied: u?.untallied ?? 0,
      invalidShapes: i?.shapes ?? [],
    };
  });
  return programs.sort((a, b) => b.seen - a.seen);
}
