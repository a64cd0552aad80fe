import { describe, expect, it } from 'vitest';
import { compilePattern, MAX_PATTERN_LENGTH } from './regex.js';

function info(pattern: string) {
  const compiled = compilePattern(pattern);
  if (!compiled.ok) throw new Error(compiled.problem);
  return compiled.info;
}

function problem(pattern: string): string {
  const compiled = compilePattern(pattern);
  if (compiled.ok) throw new Error(`accepted: ${pattern}`);
  return compiled.problem;
}

describe('compilePattern: nested quantifiers', () => {
  it.each([
    '(a+)+',
    '(a*)*',
    '^(\\w+\\s?)*$',
    '(?:x*y?){2,}',
    '(?<word>[a-z]+,)+end',
    '((ab)+c?)*',
    '(a?){3,10}',
    'x(?:(?:\\d+)\\.)+y',
  ])('refuses %s', (pattern) => {
    expect(problem(pattern)).toMatch(/^nested quantifier at column \d+: /);
  });

  it('names the column of the outer quantifier', () => {
    expect(problem('ab(c+)+')).toMatch(/^nested quantifier at column 7:/);
  });

  it.each([
    '(ab)+',
    '(?:\\d{3})+',
    '(a|b)*c',
    '^prepend Received-SPF: (?<result>\\w+) \\((?<reason>[^)]*)\\)',
    'a+b*c?',
    '(?:foo)?bar+',
    '[(+*]+(x)',
    '\\(a+\\)+',
    'x{2,}y',
    '(?<q>a+)b',
  ])('accepts %s', (pattern) => {
    expect(compilePattern(pattern).ok).toBe(true);
  });

  it('refuses an invalid regular expression with the engine’s reason', () => {
    expect(problem('(unclosed')).toBe('invalid regular expression: Unterminated group');
    expect(problem('a**')).toBe('invalid regular expression: Nothing to repeat');
  });

  it('refuses a pattern longer than the limit', () => {
    expect(problem('a'.repeat(MAX_PATTERN_LENGTH + 1))).toBe(
      `pattern is longer than ${MAX_PATTERN_LENGTH} characters`,
    );
  });
});

describe('compilePattern: named groups', () => {
  it('lists them in order, nested ones included', () => {
    expect(info('^(?<a>x)(?:(?<b>y)|(?<c>z))(?<d>(?<e>w))').groups).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('has none for a pattern without names', () => {
    expect(info('^(x)(y)').groups).toEqual([]);
  });
});

describe('compilePattern: literal prefix', () => {
  it.each([
    ['^prepend Received-SPF: (?<r>\\w+)', 'prepend Received-SPF: '],
    ['^warning: hostname ', 'warning: hostname '],
    ['^abc?', 'ab'],
    ['^abc*', 'ab'],
    ['^abc+', 'abc'],
    ['^abc{2}', 'abc'],
    ['^ab{0,3}', 'a'],
    ['^\\(x\\)\\.y', '(x).y'],
    ['^\\d+ seconds', ''],
    ['^a.b', 'a'],
    ['^ab[cd]', 'ab'],
    ['^ab(?:c)', 'ab'],
    ['^ab|cd', ''],
    ['^(?:ab|cd)', ''],
    ['no anchor', ''],
    ['^a\\sb', 'a'],
  ])('%s starts with %j', (pattern, prefix) => {
    const found = info(pattern);
    expect(found.prefix).toBe(prefix);
    // The prefix is sound: every text the regex matches starts with it.
    for (const text of ['prepend Received-SPF: Pass', 'abcc', 'a', 'ab', '(x).y', 'cd', '12 seconds', 'a b'])
      if (found.regex.test(text)) expect(text.startsWith(found.prefix)).toBe(true);
  });
});
