/** Parsers declared in a YAML file: format in docs/declared-parsers.md. */
export { compileDeclared, type Problem } from './compile.js';
export { EVENT_KINDS } from './kinds.js';
export {
  DeclaredParsersError,
  formatProblem,
  type LocatedProblem,
  loadDeclaredParsers,
  parseDeclaredParsers,
} from './load.js';
export { DeclaredParser } from './parser.js';
