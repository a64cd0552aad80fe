// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings hold declared-parser templates, not JavaScript ones
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DeclaredParsersError,
  type LocatedProblem,
  loadDeclaredParsers,
  parseDeclaredParsers,
} from './load.js';

/** The problems of a file that must be refused, as `line:column where: message`. */
function problems(yaml: string): string[] {
  try {
    parseDeclaredParsers(yaml, 'p.yaml');
  } catch (error) {
    if (!(error instanceof DeclaredParsersError)) throw error;
    for (const p of error.problems) expect(p.file).toBe('p.yaml');
    return error.problems.map((p: LocatedProblem) => `${p.line}:${p.column} ${p.where}: ${p.message}`);
  }
  throw new Error('the file was accepted');
}

/** A file of one parser `x` for program `x`, with the given rules block. */
function withRules(rules: string): string {
  return `parsers:\n  - name: x\n    programs: [x]\n    rules:\n${rules}`;
}

const KINDS =
  'connect, disconnect, reject, queue-client, queue-pickup, message-id, header-check, queue-active, ' +
  'queue-info, delivery-start, delivery-result, queue-removed, queue-expired, delivery, notification, ' +
  'queue-admin, mailbox-delivery, list-post, filter-verdict, spam-result, spam-processing, virus-found, login, info';

const NESTED =
  'a repeated group that contains a part repeated a variable number of times (like (a+)+ or (\\w+\\s?)*) ' +
  'can take exponential time on a hostile line; write the repeated part as one character class ' +
  '([\\w\\s]* for (\\w+\\s?)*), or repeat a group whose parts have fixed lengths';

describe('invalid declared-parsers files', () => {
  it('bad YAML: the parser’s message at its position', () => {
    expect(problems('parsers:\n\t- name: x\n')).toEqual([
      '2:1 : invalid YAML: Tabs are not allowed as indentation',
    ]);
    expect(problems('parsers:\n  - name: x\n    name: y\n')).toEqual([
      '3:5 : invalid YAML: Map keys must be unique',
    ]);
  });

  it('an empty file, or one that is not a mapping with `parsers`', () => {
    expect(problems('')).toEqual(['0:0 : the file is empty; it needs a `parsers:` list']);
    expect(problems('- a\n- b\n')).toEqual(['1:1 : must be a mapping with a `parsers:` list']);
    expect(problems('parser:\n  - name: x\n')).toEqual([
      '1:1 parsers: is missing: a list of parsers',
      '1:1 parser: unknown key; expected one of: parsers',
    ]);
  });

  it('an unknown event kind', () => {
    expect(problems(withRules("      - pattern: '^a'\n        event: delivry\n"))).toEqual([
      `6:16 parsers[0].rules[0].event: "delivry" is not an event kind; one of: ${KINDS}`,
    ]);
  });

  it('a required field of the event kind that neither a group nor `fields` gives', () => {
    expect(
      problems(withRules("      - pattern: '^(?<queueId>\\w+): to=(?<to>\\S+)'\n        event: delivery\n")),
    ).toEqual([
      "5:9 parsers[0].rules[0]: a delivery event needs 'status': give it a group (?<status>…) in the pattern, or status in fields",
    ]);
    expect(problems(withRules("      - pattern: '^connect'\n        event: connect\n"))).toEqual([
      "5:9 parsers[0].rules[0]: a connect event needs 'client': give it a group or field named clientIp, clientName or clientPort",
    ]);
  });

  it('a regular expression the engine refuses, with its reason', () => {
    expect(
      problems(withRules("      - pattern: '^(?<a>x'\n        event: info\n        fields: { label: a }\n")),
    ).toEqual(['5:18 parsers[0].rules[0].pattern: invalid regular expression: Unterminated group']);
  });

  it('a nested quantifier', () => {
    expect(
      problems(
        withRules("      - pattern: '^(\\w+\\s?)*$'\n        event: info\n        fields: { label: a }\n"),
      ),
    ).toEqual([`5:18 parsers[0].rules[0].pattern: nested quantifier at column 10: ${NESTED}`]);
  });

  it('a template naming a group the pattern does not define', () => {
    const yaml = withRules(
      "      - pattern: '^(?<result>\\w+)'\n        event: info\n        fields: { label: 'spf-${reslt}' }\n",
    );
    expect(problems(yaml)).toEqual([
      '7:26 parsers[0].rules[0].fields.label: ${reslt}: no such named group in the pattern (its groups: result)',
    ]);
    const none = withRules(
      "      - pattern: '^\\w+'\n        event: info\n        fields: { label: '${x}' }\n",
    );
    expect(problems(none)).toEqual([
      '7:26 parsers[0].rules[0].fields.label: ${x}: no such named group in the pattern (it has none; name one with (?<name>…))',
    ]);
  });

  it('a field the event kind does not have, and a constant that does not fit its field', () => {
    expect(
      problems(
        withRules("      - pattern: '^a'\n        event: info\n        fields: { label: a, colour: red }\n"),
      ),
    ).toEqual([
      "7:29 parsers[0].rules[0].fields.colour: 'colour' is not a field of an info event; its fields: queueId, clientName, clientIp, clientPort, label",
    ]);
    const yaml = withRules(
      "      - pattern: '^(?<queueId>\\w+) (?<to>\\S+) (?<delay>\\S+)'\n        event: delivery\n        fields: { status: maybe, connUse: 1.5 }\n",
    );
    expect(problems(yaml)).toEqual([
      '7:27 parsers[0].rules[0].fields.status: "maybe" is not one of sent, deferred, bounced, expired, discarded, undeliverable',
      '7:43 parsers[0].rules[0].fields.connUse: 1.5 is not a whole number',
    ]);
  });

  it('a parser with neither `programs` nor `match`', () => {
    expect(
      problems(
        'parsers:\n  - name: x\n    rules:\n      - { pattern: a, event: info, fields: { label: a } }\n',
      ),
    ).toEqual([
      '2:5 parsers[0]: needs `programs` (the program names it reads), `match` (a regex the lines must match), or both',
    ]);
  });

  it('unknown keys, at the key', () => {
    const yaml =
      "parsers:\n  - name: x\n    programs: [x]\n    pattrn: x\n    rules:\n      - pattern: '^a'\n        evnt: info\n";
    expect(problems(yaml)).toEqual([
      '4:5 parsers[0].pattrn: unknown key; expected one of: name, programs, match, maxLength, rules',
      `6:9 parsers[0].rules[0].event: is missing: an event kind (${KINDS})`,
      '7:9 parsers[0].rules[0].evnt: unknown key; expected one of: pattern, event, fields',
    ]);
  });

  it('a program name that is not a string', () => {
    expect(
      problems(
        "parsers:\n  - name: x\n    programs: [postfix, 25, '']\n    rules: [{ pattern: a, event: info, fields: { label: a } }]\n",
      ),
    ).toEqual([
      '3:25 parsers[0].programs[1]: must be a program name (a string)',
      '3:29 parsers[0].programs[2]: is empty',
    ]);
  });

  it('values of the wrong type', () => {
    const yaml =
      'parsers:\n  - name: 3\n    programs: policyd\n    rules:\n      - pattern: 42\n        event: info\n        fields: [label]\n';
    expect(problems(yaml)).toEqual([
      '2:11 parsers[0].name: must be a name (letters, digits, . _ -)',
      '3:15 parsers[0].programs: must be a list of program names, e.g. [policyd-spf]',
      '5:18 parsers[0].rules[0].pattern: must be a regular expression (a string)',
      '7:17 parsers[0].rules[0].fields: must be a mapping of field names to values',
    ]);
  });

  it('every problem of every parser at once, in file order', () => {
    const yaml = [
      'parsers:',
      "  - name: 'bad name!'",
      '    programs: []',
      '    rules:',
      "      - pattern: '(a+)+'",
      '        event: info',
      "      - pattern: '^(?<x>a)'",
      '        event: nope',
      '  - name: y',
      "    match: '('",
      '    maxLength: 5',
      '    rules: []',
      '  - name: y',
      '    programs: [y]',
      '    rules:',
      "      - pattern: '^a'",
      '        event: info',
      "        fields: { label: 'x${' }",
      '',
    ].join('\n');
    expect(problems(yaml)).toEqual([
      '2:11 parsers[0].name: must be 1-64 letters, digits, . _ or -, starting with a letter or digit',
      '3:15 parsers[0].programs: is empty: name a program, or leave `programs` out and give `match`',
      `5:18 parsers[0].rules[0].pattern: nested quantifier at column 5: ${NESTED}`,
      `8:16 parsers[0].rules[1].event: "nope" is not an event kind; one of: ${KINDS}`,
      '10:12 parsers[1].match: invalid regular expression: Unterminated group',
      '11:16 parsers[1].maxLength: must be at least 16',
      '12:12 parsers[1].rules: is empty: give at least one rule',
      "13:11 parsers[2].name: parser name 'y' is already used by parsers[1]",
      '18:26 parsers[2].rules[0].fields.label: unclosed ${ at character 2',
    ]);
  });

  it('formats problems as file:line:column: where: message, one per line', () => {
    try {
      parseDeclaredParsers(withRules("      - pattern: '^a'\n        event: delivry\n"), 'conf/parsers.yaml');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe(
        `conf/parsers.yaml:6:16: parsers[0].rules[0].event: "delivry" is not an event kind; one of: ${KINDS}`,
      );
    }
  });
});

describe('loadDeclaredParsers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailtrace-declared-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file', () => {
    const path = join(dir, 'ok.yaml');
    writeFileSync(
      path,
      withRules("      - pattern: '^a'\n        event: info\n        fields: { label: a }\n"),
    );
    expect(loadDeclaredParsers(path).map((p) => p.name)).toEqual(['x']);
  });

  it('reports a file it cannot read', () => {
    const path = join(dir, 'missing.yaml');
    try {
      loadDeclaredParsers(path);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DeclaredParsersError);
      const [problem] = (error as DeclaredParsersError).problems;
      expect(problem).toMatchObject({ file: path, line: 0, column: 0, where: '' });
      expect(problem?.message).toMatch(/^ENOENT: no such file or directory/);
    }
  });
});
