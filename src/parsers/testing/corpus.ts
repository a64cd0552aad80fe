/**
 * Test support for the parsers (imported by `*.test.ts` only): frames for unit tests, fixture files of
 * real lines, and the shared real-line corpus (../shared/corpus, read through the real framing so a
 * coverage test sees lines exactly as an import would).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { MailEvent } from '../../core/events.js';
import { type Frame, type FramedLine, isInvalid } from '../../core/frame.js';
import { Framer, type FramingOptions } from '../../framing/index.js';
import type { ProgramParser } from '../types.js';

/** The shared corpus sits beside the repository (`../shared/corpus`), in development and in CI. */
export const CORPUS_DIR =
  process.env['MAILTRACE_CORPUS'] ?? fileURLToPath(new URL('../../../../shared/corpus', import.meta.url));

export const hasCorpus = existsSync(CORPUS_DIR);

/** A frame for a unit test: only `program`, `pid` and `text` matter to a parser. */
export function frame(program: string, text: string, pid: number | null = null): Frame {
  return {
    at: 0,
    host: 'test',
    program,
    pid,
    text,
    raw: text,
    origin: { source: 'test', file: 'test', offset: 0, line: 1 },
  };
}

/**
 * Lines of a fixture file beside a test: blank lines and `#` comment lines (which name where the lines
 * came from) are skipped.
 */
export function fixtureLines(url: URL): string[] {
  return readFileSync(url, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

function framingOptions(file: string, extra: Partial<FramingOptions>): FramingOptions {
  return {
    source: 'corpus',
    file,
    format: 'auto',
    encoding: 'auto',
    timeZone: 'UTC',
    host: 'corpus-host',
    referenceTime: Date.UTC(2030, 0, 1),
    ...extra,
  };
}

/** Frames raw log lines with the real framing. Invalid frames are dropped (not a parser's concern). */
export function frameLines(lines: readonly string[], extra: Partial<FramingOptions> = {}): Frame[] {
  const framer = new Framer(framingOptions('lines', extra));
  const frames: Frame[] = [];
  lines.forEach((line, i) => {
    const framed: FramedLine = framer.frameText(line, 0, i + 1);
    if (!isInvalid(framed)) frames.push(framed);
  });
  return frames;
}

/** Members of a (decompressed) tar archive; inner `.gz` members are decompressed too. */
function tarMembers(tar: Buffer): Buffer[] {
  const members: Buffer[] = [];
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    const name = header.subarray(0, 100).toString('latin1').replace(/\0.*$/s, '');
    if (name === '') break;
    const size = Number.parseInt(header.subarray(124, 136).toString('latin1').replace(/\0.*$/s, ''), 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const body = tar.subarray(at + 512, at + 512 + size);
    if (type === '0' || type === '\0') members.push(name.endsWith('.gz') ? gunzipSync(body) : body);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return members;
}

/** All lines of a corpus file (path relative to the corpus directory), decompressing `.gz`/`.tar.gz`. */
export function corpusLines(relative: string): string[] {
  const bytes = readFileSync(`${CORPUS_DIR}/${relative}`);
  const texts = relative.endsWith('.tar.gz')
    ? tarMembers(gunzipSync(bytes)).map((b) => b.toString('utf8'))
    : [(relative.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')];
  return texts.flatMap((t) => t.split(/\r?\n/)).filter((l) => l !== '' && !l.startsWith('#'));
}

export interface Coverage {
  /** Frames of the file whose program the parser handles. */
  handled: number;
  /** Their raw lines that the parser did not recognise. */
  unknown: string[];
  events: MailEvent[];
}

/** Frames every line of a corpus file and runs the parser on those of its programs. */
export function coverage(
  parser: ProgramParser,
  relative: string,
  extra: Partial<FramingOptions> = {},
  rewrite: (line: string) => string = (l) => l,
): Coverage {
  const frames = frameLines(corpusLines(relative).map(rewrite), { file: relative, ...extra });
  const result: Coverage = { handled: 0, unknown: [], events: [] };
  for (const f of frames) {
    if (!parser.handles(f.program)) continue;
    result.handled++;
    const event = parser.parse(f);
    if (event === null) result.unknown.push(f.raw);
    else result.events.push(event);
  }
  return result;
}
