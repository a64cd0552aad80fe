/**
 * The shape of a declared-parsers file, in zod. Each level (file, parser, rule) is its own schema so that
 * the loader checks every parser and every rule even when a sibling is wrong, and reports all problems.
 * The meaning (regexes, field names, templates, required fields) is checked in compile.ts.
 */
import { z } from 'zod';
import { EVENT_KINDS } from './kinds.js';
import { MAX_PATTERN_LENGTH } from './regex.js';

/** Longest line text a declared parser reads by default, and the most a file may ask for. */
export const DEFAULT_MAX_LENGTH = 4096;
export const MAX_MAX_LENGTH = 65_536;
const MAX_TEMPLATE_LENGTH = 1000;

/** The message of a missing key, or of a value of the wrong type. */
function expected(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `is missing: ${what}` : `must be ${what}`;
}

export const fileSchema = z.strictObject(
  {
    parsers: z
      .array(z.unknown(), { error: expected('a list of parsers') })
      .min(1, 'is empty: declare a parser'),
  },
  { error: expected('a mapping with a `parsers:` list') },
);

export const parserSchema = z.strictObject(
  {
    name: z
      .string({ error: expected('a name (letters, digits, . _ -)') })
      .regex(
        /^[A-Za-z0-9][\w.-]{0,63}$/,
        'must be 1-64 letters, digits, . _ or -, starting with a letter or digit',
      ),
    programs: z
      .array(
        z
          .string({ error: expected('a program name (a string)') })
          .min(1, 'is empty')
          .max(256, 'is longer than 256 characters'),
        {
          error: expected('a list of program names, e.g. [policyd-spf]'),
        },
      )
      .min(1, 'is empty: name a program, or leave `programs` out and give `match`')
      .optional(),
    match: z
      .string({ error: expected('a regular expression (a string)') })
      .min(1, 'is empty')
      .optional(),
    maxLength: z
      .number({ error: expected(`a number of characters up to ${MAX_MAX_LENGTH}`) })
      .int('must be a whole number')
      .min(16, 'must be at least 16')
      .max(MAX_MAX_LENGTH, `must be at most ${MAX_MAX_LENGTH}`)
      .optional(),
    rules: z
      .array(z.unknown(), { error: expected('a list of rules') })
      .min(1, 'is empty: give at least one rule'),
  },
  { error: expected('a mapping (name, programs, match, rules)') },
);

const fieldValue = z.union([z.string().max(MAX_TEMPLATE_LENGTH), z.number(), z.boolean()], {
  error: `must be a string (a constant or a \${group} template of at most ${MAX_TEMPLATE_LENGTH} characters), a number, or true/false`,
});

export const ruleSchema = z.strictObject(
  {
    pattern: z
      .string({ error: expected('a regular expression (a string)') })
      .min(1, 'is empty')
      .max(MAX_PATTERN_LENGTH, `is longer than ${MAX_PATTERN_LENGTH} characters`),
    event: z.enum(EVENT_KINDS as [string, ...string[]], {
      error: (issue) =>
        issue.input === undefined
          ? `is missing: an event kind (${EVENT_KINDS.join(', ')})`
          : `${JSON.stringify(issue.input)} is not an event kind; one of: ${EVENT_KINDS.join(', ')}`,
    }),
    fields: z
      .record(z.string(), fieldValue, { error: expected('a mapping of field names to values') })
      .optional(),
  },
  { error: expected('a mapping (pattern, event, fields)') },
);

export type FileShape = z.infer<typeof fileSchema>;
export type ParserShape = z.infer<typeof parserSchema>;
export type RuleShape = z.infer<typeof ruleSchema>;

/** Keys each level accepts, for the message about an unknown key. */
export const KEYS = {
  file: Object.keys(fileSchema.shape),
  parser: Object.keys(parserSchema.shape),
  rule: Object.keys(ruleSchema.shape),
} as const;
