/**
 * Field values of declared rules: `${group}` templates, and the conversion of captured text to the type
 * of the field it fills (kinds.ts). Conversion never throws: a value that does not fit is `undefined`,
 * and the field is then absent.
 */
import { normalizeAddress, normalizeMessageId } from '../../core/address.js';
import { bound } from '../../core/events.js';
import type { FieldType } from './kinds.js';

/** A template: literal strings and group references, in order. */
export type TemplatePart = string | { group: string };

export type Parsed = { ok: true; parts: TemplatePart[] } | { ok: false; problem: string };

const GROUP_NAME = /^[A-Za-z_$][\w$]*$/;

/** Reads `spf-${result}`; `$${` writes a literal `${`. */
export function parseTemplate(template: string): Parsed {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('$${', i)) {
      literal += '${';
      i += 3;
    } else if (template.startsWith('${', i)) {
      const close = template.indexOf('}', i + 2);
      if (close < 0) return { ok: false, problem: `unclosed \${ at character ${i + 1}` };
      const name = template.slice(i + 2, close);
      if (!GROUP_NAME.test(name)) return { ok: false, problem: `\${${name}} is not a group name` };
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push({ group: name });
      i = close + 1;
    } else {
      literal += template[i];
      i++;
    }
  }
  if (literal !== '') parts.push(literal);
  return { ok: true, parts };
}

/** The template's text for one match: a group that did not take part reads as ''. */
export function fillTemplate(
  parts: readonly TemplatePart[],
  groups: Record<string, string | undefined>,
): string {
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : (groups[part.group] ?? '');
  return out;
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);
const INT = /^[+-]?\d{1,15}$/;
const NUMBER = /^[+-]?(?:\d{1,15}(?:\.\d{1,15})?|\.\d{1,15})(?:[eE][+-]?\d{1,3})?$/;
/** Longest list read from one field: a line is bounded, a list taken from it is too. */
const MAX_LIST = 1000;

/**
 * Converts captured or written text to a field's type; `undefined` when it does not fit. Empty text
 * is absent for every type but addresses and message-ids (where `<>` and '' mean something).
 */
export function convert(raw: string, type: FieldType): unknown {
  if (typeof type !== 'string') return enumValue(raw, type);
  if (raw === '' && type !== 'address' && type !== 'message-id') return undefined;
  switch (type) {
    case 'text':
      return bound(raw);
    case 'address':
      return normalizeAddress(raw);
    case 'user':
      return raw.includes('@') ? normalizeAddress(raw) : bound(raw.trim(), 512).toLowerCase();
    case 'message-id':
      return normalizeMessageId(raw);
    case 'int':
      return INT.test(raw) ? Number(raw) : undefined;
    case 'number':
      return NUMBER.test(raw) ? Number(raw) : undefined;
    case 'boolean':
      return booleanValue(raw);
    case 'address-list':
      return listOf(raw, normalizeAddress);
    case 'text-list':
      return listOf(raw, (item) => bound(item));
    case 'client':
      return undefined;
  }
}

function booleanValue(raw: string): boolean | undefined {
  const lower = raw.trim().toLowerCase();
  if (TRUE.has(lower)) return true;
  if (FALSE.has(lower)) return false;
  return undefined;
}

function enumValue(raw: string, values: readonly string[]): string | undefined {
  const lower = raw.trim().toLowerCase();
  for (const value of values) if (value === lower) return value;
  return undefined;
}

function listOf(raw: string, item: (value: string) => string): string[] | undefined {
  const out: string[] = [];
  for (const piece of raw.split(',', MAX_LIST)) {
    const trimmed = piece.trim();
    if (trimmed !== '') out.push(item(trimmed));
  }
  return out.length > 0 ? out : undefined;
}

/** A constant from the file (a YAML number or boolean, or a template without groups) as the field's type. */
export function convertConstant(value: string | number | boolean, type: FieldType): unknown {
  if (typeof value === 'string') return convert(value, type);
  if (typeof value === 'boolean') return type === 'boolean' ? value : undefined;
  if (type === 'int') return Number.isSafeInteger(value) ? value : undefined;
  if (type === 'number') return Number.isFinite(value) ? value : undefined;
  return convert(String(value), type);
}

/** How a type is described in an error message. */
export function describeType(type: FieldType): string {
  if (typeof type !== 'string') return `one of ${type.join(', ')}`;
  switch (type) {
    case 'int':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return `${type === 'address-list' || type === 'text-list' ? 'a list' : 'a value'} (${type})`;
  }
}
