/**
 * A parser declared in a configuration file (format: docs/declared-parsers.md), compiled once by
 * compile.ts. Per line: a length check, `startsWith` on the literal prefix of the parser's `match` and of
 * each rule's pattern, then the regex; the first rule that matches builds the event from its groups.
 */
import type { ClientRef, EventKind, MailEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';
import type { FieldTarget } from './kinds.js';
import { convert, fillTemplate, type TemplatePart } from './values.js';

/** How one field of the event is filled. */
export interface FieldSetter {
  readonly target: FieldTarget;
  /** The value, converted when the file was loaded (for a value that names no group). */
  readonly constant?: unknown;
  /** A template naming groups, filled per line. */
  readonly parts?: readonly TemplatePart[];
  /** The groups the template names: when none of them took part in the match, the field is absent. */
  readonly groups?: readonly string[];
}

export interface DeclaredRule {
  readonly regex: RegExp;
  /** Literal text the line must start with for the regex to match ('' when unknown). */
  readonly prefix: string;
  readonly kind: EventKind;
  readonly setters: readonly FieldSetter[];
  /** Event fields that must be present, else the line is not recognised. */
  readonly required: readonly string[];
  /** Required list fields a rule need not give: an empty list. */
  readonly emptyLists: readonly string[];
}

export interface DeclaredParserSpec {
  readonly name: string;
  /** Exact program names handled; null: every program (the parser then has a `match`). */
  readonly programs: ReadonlySet<string> | null;
  readonly match: { readonly regex: RegExp; readonly prefix: string } | null;
  /** Lines with a longer text are left to other parsers (bounds the regexes' running time). */
  readonly maxLength: number;
  readonly rules: readonly DeclaredRule[];
}

type Groups = Record<string, string | undefined>;
const NO_GROUPS: Groups = Object.freeze({});

export class DeclaredParser implements ProgramParser {
  readonly name: string;

  constructor(readonly spec: DeclaredParserSpec) {
    this.name = spec.name;
  }

  handles(program: string): boolean {
    return this.spec.programs === null || this.spec.programs.has(program);
  }

  parse(frame: Frame): MailEvent | null {
    const text = frame.text;
    const { match, rules, maxLength } = this.spec;
    if (text.length > maxLength) return null;
    if (match !== null && !(text.startsWith(match.prefix) && match.regex.test(text))) return null;
    for (const rule of rules) {
      if (!text.startsWith(rule.prefix)) continue;
      const m = rule.regex.exec(text);
      if (m !== null) return buildEvent(rule, m.groups ?? NO_GROUPS);
    }
    return null;
  }
}

/** The event a matching rule states, or null when a required field is missing or does not convert. */
export function buildEvent(rule: DeclaredRule, groups: Groups): MailEvent | null {
  const event: Record<string, unknown> = { kind: rule.kind };
  for (const setter of rule.setters) {
    const value = fieldValue(setter, groups);
    if (value === undefined) continue;
    const { field, part } = setter.target;
    if (part === undefined) event[field] = value;
    else {
      const client = (event[field] as ClientRef | undefined) ?? {};
      client[part] = value as never;
      event[field] = client;
    }
  }
  for (const field of rule.emptyLists) if (event[field] === undefined) event[field] = [];
  for (const field of rule.required) if (event[field] === undefined) return null;
  return event as unknown as MailEvent;
}

function fieldValue(setter: FieldSetter, groups: Groups): unknown {
  if (setter.parts === undefined) {
    // A constant list is copied: events are handed on and may be changed downstream.
    return Array.isArray(setter.constant) ? setter.constant.slice() : setter.constant;
  }
  if (setter.groups !== undefined && !anyTookPart(setter.groups, groups)) return undefined;
  return convert(fillTemplate(setter.parts, groups), setter.target.type);
}

function anyTookPart(names: readonly string[], groups: Groups): boolean {
  for (const name of names) if (groups[name] !== undefined) return true;
  return false;
}
