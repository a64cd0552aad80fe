/**
 * Reads a declared-parsers YAML file (docs/declared-parsers.md): YAML syntax, then shape and meaning
 * (compile.ts). Any problem makes the whole file refused, with every problem listed by file, line and
 * column, so that a typo never silently turns lines into unknowns.
 */
import { readFileSync, statSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { ProgramParser } from '../types.js';
import { compileDeclared, type Path, type Problem } from './compile.js';

/** A declarations file is configuration: a few kilobytes. The bound keeps a wrong path from hurting. */
const MAX_FILE_BYTES = 1024 * 1024;

export interface LocatedProblem {
  file: string;
  /** 1-based; 0 when the problem is about the file as a whole. */
  line: number;
  column: number;
  /** Where in the document, e.g. `parsers[0].rules[1].event` ('' for the document). */
  where: string;
  message: string;
}

export class DeclaredParsersError extends Error {
  constructor(readonly problems: LocatedProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'DeclaredParsersError';
  }
}

export function formatProblem(p: LocatedProblem): string {
  const at = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return `${at}: ${p.where ? `${p.where}: ` : ''}${p.message}`;
}

/** Reads and compiles a declarations file; throws DeclaredParsersError listing every problem. */
export function loadDeclaredParsers(path: string): ProgramParser[] {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES)
      throw new Error(`larger than ${MAX_FILE_BYTES} bytes: not a declarations file`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new DeclaredParsersError([{ file: path, line: 0, column: 0, where: '', message }]);
  }
  return parseDeclaredParsers(text, path);
}

/** Compiles declarations given as text; `file` names them in problems. */
export function parseDeclaredParsers(text: string, file: string): ProgramParser[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new DeclaredParsersError(
      doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return { file, line: pos.line, column: pos.col, where: '', message: yamlMessage(error.message) };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new DeclaredParsersError([{ file, line: 0, column: 0, where: '', message }]);
  }
  if (data === null || data === undefined)
    throw new DeclaredParsersError([
      { file, line: 0, column: 0, where: '', message: 'the file is empty; it needs a `parsers:` list' },
    ]);
  const { parsers, problems } = compileDeclared(data);
  if (problems.length > 0) {
    const located = problems.map((p) => locate(p, doc.contents, lineCounter, file));
    located.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new DeclaredParsersError(located);
  }
  return parsers;
}

/** yaml's messages end with ` at line N, column M` or a code frame; the position is given apart. */
function yamlMessage(message: string): string {
  return `invalid YAML: ${message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
}

function locate(problem: Problem, root: unknown, lineCounter: LineCounter, file: string): LocatedProblem {
  const node = nodeAt(root, problem.path, problem.atKey === true);
  const offset = node?.range?.[0];
  const pos = offset === undefined ? { line: 0, col: 0 } : lineCounter.linePos(offset);
  return { file, line: pos.line, column: pos.col, where: pathText(problem.path), message: problem.message };
}

/**
 * The deepest YAML node on `path` (a missing key is reported where its mapping starts). With `atKey`,
 * the last step's key node rather than its value.
 */
function nodeAt(root: unknown, path: Path, atKey: boolean): Node | null {
  let node = (root ?? null) as Node | null;
  for (let i = 0; i < path.length; i++) {
    const step = path[i]!;
    let next: unknown = null;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step),
      );
      next = pair === undefined ? null : atKey && i === path.length - 1 ? pair.key : pair.value;
    } else if (isSeq(node) && typeof step === 'number') next = node.items[step] ?? null;
    if (next === null || typeof next !== 'object') break;
    node = next as Node;
  }
  return node;
}

/** `parsers[0].rules[1].event`. */
function pathText(path: Path): string {
  let out = '';
  for (const step of path) out += typeof step === 'number' ? `[${step}]` : out === '' ? step : `.${step}`;
  return out;
}
