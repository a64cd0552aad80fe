import { Command } from 'commander';
import { analyseCoverage, type CoverageReport, type ProgramCoverage } from '../pipeline/coverage.js';
import { DEFAULT_TOP_SHAPES } from '../pipeline/import.js';
import type { ShapeCount } from '../pipeline/shapes.js';
import { safe } from '../trace/render-text.js';
import { EXIT, positiveInt, setExitCode, styleFor } from './common.js';
import { addReadOptions, type ReadCliOptions, readRegistry, readSettings } from './read-options.js';

interface CoverageCliOptions extends ReadCliOptions {
  top: number;
  examples?: boolean;
  json?: boolean;
}

export function coverageCommand(): Command {
  const command = new Command('coverage')
    .description(
      'read log files without a database and show, per host and program, how many lines the parsers ' +
        'recognise and the most frequent shapes of those they do not',
    )
    .argument('<files...>', 'log files, read as import reads them (plain or gzip)');
  return addReadOptions(command)
    .option(
      '--top <n>',
      'unrecognised line shapes shown per host and program',
      positiveInt,
      DEFAULT_TOP_SHAPES,
    )
    .option('--examples', 'show a real line under each shape')
    .option('--json', 'print the report as JSON')
    .action(async (files: string[], options: CoverageCliOptions) => {
      setExitCode(await runCoverage(files, options));
    });
}

async function runCoverage(files: string[], options: CoverageCliOptions): Promise<number> {
  const registry = readRegistry(options);
  const report = await analyseCoverage({
    files,
    settings: readSettings(options),
    registry,
    top: options.top,
  });
  if (options.json) process.stdout.write(`${JSON.stringify(reportJson(report), null, 2)}\n`);
  else process.stdout.write(renderReport(report, options.examples === true));
  return report.files.some((f) => f.problem) ? EXIT.partialImport : EXIT.ok;
}

function reportJson(report: CoverageReport) {
  return { ...report, linesPerSecond: linesPerSecond(report) };
}

function linesPerSecond(report: CoverageReport): number {
  return report.elapsedMs > 0 ? Math.round((report.lines * 1000) / report.elapsedMs) : report.lines;
}

const n = (x: number) => x.toLocaleString('en-US');

function percent(part: number, whole: number): string {
  return whole === 0 ? '–' : `${((100 * part) / whole).toFixed(1)} %`;
}

function renderReport(report: CoverageReport, examples: boolean): string {
  const style = styleFor();
  const out: string[] = [];
  for (const f of report.files) {
    if (f.problem) {
      const kept = f.lines ? ` (counted the ${n(f.lines)} lines read before)` : '';
      out.push(style.status('bounced', `warning: ${safe(f.path)}: ${f.problem}${kept}`));
    }
  }
  out.push(
    style.bold(`Coverage of ${plural(report.files.length, 'file')}`) +
      `: ${plural(report.lines, 'line')}, ${n(report.parsed)} parsed (${percent(report.parsed, report.lines)}), ` +
      `${n(report.unknown)} not recognised, ${n(report.invalid)} with an unreadable header`,
  );
  if (report.programs.length > 0) {
    out.push('');
    out.push(...programTable(report.programs, style.bold));
  }
  const missed = report.programs
    .filter((p) => p.unknown > 0 || p.invalid > 0)
    .sort((a, b) => b.unknown + b.invalid - (a.unknown + a.invalid));
  if (missed.length > 0) {
    out.push('');
    out.push(style.bold('Lines not recognised, by shape (most frequent first)'));
  }
  for (const p of missed) {
    out.push('');
    const parser = p.parser === null ? 'no parser' : `parser ${p.parser}`;
    out.push(`${style.bold(safe(`${p.host} ${p.program}`, 200))} (${parser})`);
    out.push(...shapeLines(p.unknownShapes, p.unknown, p.untallied, examples));
    if (p.invalid > 0) {
      out.push('  unreadable header:');
      out.push(...shapeLines(p.invalidShapes, p.invalid, 0, examples));
    }
  }
  out.push('');
  out.push(
    `${plural(report.lines, 'line')} in ${(report.elapsedMs / 1000).toFixed(1)} s (${n(linesPerSecond(report))} lines/s)`,
  );
  return `${out.join('\n')}\n`;
}

function plural(count: number, noun: string): string {
  return `${n(count)} ${noun}${count === 1 ? '' : 's'}`;
}

const NAME_WIDTH = 32;

function programTable(programs: ProgramCoverage[], bold: (s: string) => string): string[] {
  const hostWidth = Math.min(NAME_WIDTH, Math.max(4, ...programs.map((p) => p.host.length)));
  const programWidth = Math.min(NAME_WIDTH, Math.max(7, ...programs.map((p) => p.program.length)));
  const parserWidth = Math.min(NAME_WIDTH, Math.max(6, ...programs.map((p) => (p.parser ?? '').length)));
  // Names come from log lines: control characters escaped, cut to the column.
  const cell = (text: string, width: number) => safe(text, width).slice(0, width).padEnd(width);
  const row = (names: [string, string, string], numbers: string[]) =>
    `  ${cell(names[0], hostWidth)}  ${cell(names[1], programWidth)}  ${cell(names[2], parserWidth)}` +
    numbers.map((c) => `  ${c.padStart(NUMBER_WIDTH)}`).join('');
  const out = [bold(row(['host', 'program', 'parser'], ['lines', 'parsed', 'unknown', 'invalid']))];
  for (const p of programs) {
    out.push(
      row(
        [p.host, p.program, p.parser ?? '–'],
        [n(p.seen), percent(p.parsed, p.seen), n(p.unknown), n(p.invalid)],
      ),
    );
  }
  return out;
}

const NUMBER_WIDTH = 10;

function shapeLines(shapes: ShapeCount[], total: number, untallied: number, examples: boolean): string[] {
  const out: string[] = [];
  const width = Math.max(6, ...shapes.map((s) => n(s.count).length));
  let shown = 0;
  for (const s of shapes) {
    shown += s.count;
    // Shapes and examples are log text, attacker-controlled: control characters are shown escaped.
    out.push(`  ${n(s.count).padStart(width)}  ${safe(s.shape, 600)}`);
    if (examples) out.push(`  ${''.padStart(width)}  e.g. ${safe(s.example, 600)}`);
  }
  const rest = total - shown;
  if (rest > 0) {
    const note = untallied > 0 ? `, ${n(untallied)} of them not tallied (too many distinct shapes)` : '';
    out.push(`  ${n(rest).padStart(width)}  … other shapes${note}`);
  }
  return out;
}
