/**
 * From the data of a declared-parsers file to compiled parsers, or to the list of everything wrong with
 * it. Every parser and every rule is checked even when an earlier one is wrong, so that one run reports
 * all problems. Problems carry the path of the value they are about; load.ts turns paths into lines.
 */
import type { z } from 'zod';
import type { EventKind } from '../../core/events.js';
import { type FieldTarget, specOf, targetsOf } from './kinds.js';
import { DeclaredParser, type DeclaredRule, type FieldSetter } from './parser.js';
import { compilePattern, type PatternInfo } from './regex.js';
import { DEFAULT_MAX_LENGTH, fileSchema, KEYS, parserSchema, ruleSchema } from './schema.js';
import { convertConstant, describeType, parseTemplate, type TemplatePart } from './values.js';

export type Path = readonly (string | number)[];

export interface Problem {
  path: Path;
  message: string;
  /** The problem is about the key at `path` (an unknown key), not its value. */
  atKey?: boolean;
}

export interface Compiled {
  parsers: DeclaredParser[];
  problems: Problem[];
}

/** The result of one level's schema: its data, or its issues added (under `path`) to `problems`. */
function check<T>(
  result: z.ZodSafeParseResult<T>,
  path: Path,
  keys: readonly string[],
  problems: Problem[],
): T | undefined {
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const at = [...path, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        problems.push({
          path: [...at, key],
          atKey: true,
          message: `unknown key; expected one of: ${keys.join(', ')}`,
        });
    } else problems.push({ path: at, message: issue.message });
  }
  return undefined;
}

export function compileDeclared(data: unknown): Compiled {
  const problems: Problem[] = [];
  const parsers: DeclaredParser[] = [];
  const file = check(fileSchema.safeParse(data), [], KEYS.file, problems);
  if (file === undefined) return { parsers, problems };
  const names = new Map<string, number>();
  file.parsers.forEach((raw, index) => {
    const parser = compileParser(raw, ['parsers', index], problems);
    if (parser !== null) parsers.push(parser);
    // Names are compared as written, so that a duplicate shows even beside other problems.
    const name = (raw as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const earlier = names.get(name);
    if (earlier === undefined) names.set(name, index);
    else
      problems.push({
        path: ['parsers', index, 'name'],
        message: `parser name '${name}' is already used by parsers[${earlier}]`,
      });
  });
  return problems.length > 0 ? { parsers: [], problems } : { parsers, problems };
}

function compileParser(raw: unknown, path: Path, problems: Problem[]): DeclaredParser | null {
  const before = problems.length;
  const shape = check(parserSchema.safeParse(raw), path, KEYS.parser, problems);
  const rawRules = (raw as { rules?: unknown } | null)?.rules;
  // The rules are checked even when the parser's own keys are wrong, so their problems show up too.
  const rules = Array.isArray(rawRules)
    ? rawRules.map((rule, i) => compileRule(rule, [...path, 'rules', i], problems))
    : [];
  // So is `match`, when it is a string.
  const rawMatch = (raw as { match?: unknown } | null)?.match;
  let match: PatternInfo | null = null;
  if (typeof rawMatch === 'string' && rawMatch !== '') {
    const compiled = compilePattern(rawMatch);
    if (compiled.ok) match = compiled.info;
    else problems.push({ path: [...path, 'match'], message: compiled.problem });
  }
  if (shape === undefined) return null;
  if (shape.programs === undefined && shape.match === undefined)
    problems.push({
      path,
      message:
        'needs `programs` (the program names it reads), `match` (a regex the lines must match), or both',
    });
  if (problems.length > before) return null;
  return new DeclaredParser({
    name: shape.name,
    programs: shape.programs === undefined ? null : new Set(shape.programs),
    match: match === null ? null : { regex: match.regex, prefix: match.prefix },
    maxLength: shape.maxLength ?? DEFAULT_MAX_LENGTH,
    rules: rules.filter((r): r is DeclaredRule => r !== null),
  });
}

function compileRule(raw: unknown, path: Path, problems: Problem[]): DeclaredRule | null {
  const before = problems.length;
  const shape = check(ruleSchema.safeParse(raw), path, KEYS.rule, problems);
  if (shape === undefined) return null;
  const pattern = compilePattern(shape.pattern);
  if (!pattern.ok) problems.push({ path: [...path, 'pattern'], message: pattern.problem });
  const kind = shape.event as EventKind;
  const groups = pattern.ok ? pattern.info.groups : null;
  const fields = shape.fields ?? {};
  const setters = fieldSetters(kind, fields, groups, path, problems);
  const spec = specOf(kind);
  const emptyLists = Object.keys(spec.defaults ?? {});
  // A field set in `fields` counts as given even when its value is wrong (that has its own problem).
  const given = new Set(setters.map((s) => s.target.field));
  const targets = targetsOf(kind);
  for (const name of Object.keys(fields)) {
    const target = targets.get(name);
    if (target !== undefined) given.add(target.field);
  }
  for (const field of spec.required) {
    if (emptyLists.includes(field) || given.has(field)) continue;
    // Without the pattern's groups, a missing field cannot be told from one a group would give.
    if (groups === null) continue;
    problems.push({ path, message: missingField(kind, field) });
  }
  if (problems.length > before || !pattern.ok) return null;
  return {
    regex: pattern.info.regex,
    prefix: pattern.info.prefix,
    kind,
    setters,
    required: spec.required,
    emptyLists,
  };
}

function article(kind: string): string {
  return /^[aeiou]/.test(kind) ? 'an' : 'a';
}

function missingField(kind: EventKind, field: string): string {
  const how =
    specOf(kind).fields[field as never] === 'client'
      ? `a group or field named ${field}Ip, ${field}Name or ${field}Port`
      : `a group (?<${field}>…) in the pattern, or ${field} in fields`;
  return `${article(kind)} ${kind} event needs '${field}': give it ${how}`;
}

/**
 * The setters of a rule: its `fields` (constants and templates), then every named group of the pattern
 * that is the name of a field and that `fields` does not set.
 */
function fieldSetters(
  kind: EventKind,
  fields: Record<string, string | number | boolean>,
  groups: readonly string[] | null,
  path: Path,
  problems: Problem[],
): FieldSetter[] {
  const targets = targetsOf(kind);
  const setters: FieldSetter[] = [];
  for (const [name, value] of Object.entries(fields)) {
    const at = [...path, 'fields', name];
    const target = targets.get(name);
    if (target === undefined) {
      problems.push({
        path: at,
        atKey: true,
        message: `'${name}' is not a field of ${article(kind)} ${kind} event; its fields: ${[...targets.keys()].join(', ')}`,
      });
      continue;
    }
    const setter = fieldSetter(target, value, groups, at, problems);
    if (setter !== null) setters.push(setter);
  }
  for (const group of groups ?? []) {
    const target = targets.get(group);
    if (target !== undefined && !Object.hasOwn(fields, group))
      setters.push({ target, parts: [{ group }], groups: [group] });
  }
  return setters;
}

function fieldSetter(
  target: FieldTarget,
  value: string | number | boolean,
  groups: readonly string[] | null,
  at: Path,
  problems: Problem[],
): FieldSetter | null {
  if (typeof value !== 'string') return constantSetter(target, value, at, problems);
  const template = parseTemplate(value);
  if (!template.ok) {
    problems.push({ path: at, message: template.problem });
    return null;
  }
  const named = template.parts
    .filter((p): p is { group: string } => typeof p !== 'string')
    .map((p) => p.group);
  if (named.length === 0) return constantSetter(target, joinLiterals(template.parts), at, problems);
  if (groups === null) return null;
  const undefinedGroups = named.filter((g) => !groups.includes(g));
  if (undefinedGroups.length > 0) {
    problems.push({
      path: at,
      message: `${undefinedGroups.map((g) => `\${${g}}`).join(', ')}: no such named group in the pattern (${
        groups.length > 0 ? `its groups: ${groups.join(', ')}` : 'it has none; name one with (?<name>…)'
      })`,
    });
    return null;
  }
  return { target, parts: template.parts, groups: named };
}

function joinLiterals(parts: readonly TemplatePart[]): string {
  return parts.filter((p): p is string => typeof p === 'string').join('');
}

function constantSetter(
  target: FieldTarget,
  value: string | number | boolean,
  at: Path,
  problems: Problem[],
): FieldSetter | null {
  const constant = convertConstant(value, target.type);
  if (constant === undefined) {
    problems.push({ path: at, message: `${JSON.stringify(value)} is not ${describeType(target.type)}` });
    return null;
  }
  return { target, constant };
}
