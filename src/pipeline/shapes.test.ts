import { describe, expect, it } from 'vitest';
import { MAX_SHAPE_INPUT, ShapeTally, shapeOf } from './shapes.js';

describe('shapeOf', () => {
  it.each([
    [
      'warning: hostname mx.example.org does not resolve to address 192.0.2.7: Name or service not known',
      'warning: hostname <HOST> does not resolve to address <IP>: Name or service not known',
    ],
    [
      '4F1E2D3C2B: to=<bob@example.org>, relay=mx.example.org[198.51.100.5]:25, delay=2, delays=0.1/0/0.9/1, dsn=5.1.1, status=bounced',
      '<ID>: to=<ADDR>, relay=<HOST>[<IP>]:<N>, delay=<N>, delays=<N>/<N>/<N>/<N>, dsn=<N>, status=bounced',
    ],
    // A queue id with no hex letter is still the queue id that begins the line.
    [
      '9809760673: DKIM-Signature field added (s=mail, d=example.org)',
      '<ID>: DKIM-Signature field added (s=mail, d=<HOST>)',
    ],
    [
      "3D03660673: no signing table match for 'reflector@example.org'",
      "<ID>: no signing table match for '<STR>'",
    ],
    ['4Xb1Q62s9Nz5vQ3: message-id=<20261128100000.ABC@example.org>', '<ID>: message-id=<ADDR>'],
    ['connect from unknown[2001:db8::1]', 'connect from unknown[<IP>]'],
    [
      'NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 450 <unknown[192.0.2.1]>: Client host rejected; from=<> to=<a@b.example> helo=<mx.example>',
      'NOQUEUE: reject: RCPT from unknown[<IP>]: <N> <unknown[<IP>]>: Client host rejected; from=<> to=<ADDR> helo=<HOST>',
    ],
    ['client_address=192.168.64.33/32, pid(989)', 'client_address=<IP>/<N>, pid(<N>)'],
    ['Setting gid to "124 124" at 10:00:01.123', 'Setting gid to "<STR>" at <TIME>'],
    ['(12345-01) Passed CLEAN, Hits: -1.2, 1234 ms', '(<N>-<N>) Passed CLEAN, Hits: -<N>, <N> ms'],
    ["it's <script> and x86_64", "it's <script> and x86_<N>"],
    ['session 9c5e1f0a-4b2d-4e3f-8a7b-1c2d3e4f5a6b ended', 'session <ID> ended'],
  ])('%s', (text, shape) => {
    expect(shapeOf(text)).toBe(shape);
  });

  it('gives lines of one kind one shape', () => {
    expect(shapeOf('warning: hostname a.example does not resolve to address 10.0.0.1')).toBe(
      shapeOf('warning: hostname mail.other.example.net does not resolve to address 172.16.254.3'),
    );
  });

  it('keeps plain words, punctuation and spacing', () => {
    expect(shapeOf('Process Backgrounded')).toBe('Process Backgrounded');
    expect(shapeOf('  a  b  ')).toBe('  a  b  ');
    expect(shapeOf('')).toBe('');
  });

  it('shapes at most MAX_SHAPE_INPUT characters of a line', () => {
    const long = `start ${'word '.repeat(200)}`;
    const shape = shapeOf(long);
    expect(shape.endsWith('…')).toBe(true);
    expect(shape.length).toBe(MAX_SHAPE_INPUT + 1);
  });

  it('does not choke on unclosed brackets and quotes, control characters or odd code points', () => {
    expect(shapeOf('a <b "c \'d')).toBe('a <b "c \'d');
    expect(shapeOf('x\u0000y \u001b[31m 12')).toBe('x\u0000y \u001b[31m <N>');
    expect(shapeOf('ü 😀 1.2.3.4')).toBe('ü 😀 <IP>');
  });

  it('masks a million-character line quickly', () => {
    const started = performance.now();
    shapeOf('a'.repeat(1_000_000));
    shapeOf('<'.repeat(1_000_000));
    shapeOf('"'.repeat(1_000_000));
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('ShapeTally', () => {
  it('counts shapes per host and program, most frequent first, with the first line of each', () => {
    const tally = new ShapeTally();
    tally.add('mx1', 'x', 'a 1');
    tally.add('mx1', 'x', 'b 1');
    tally.add('mx1', 'x', 'b 2');
    tally.add('mx2', 'x', 'a 3');
    expect(tally.top(10)).toEqual([
      {
        host: 'mx1',
        program: 'x',
        shapes: [
          { shape: 'b <N>', count: 2, example: 'b 1' },
          { shape: 'a <N>', count: 1, example: 'a 1' },
        ],
        untallied: 0,
      },
      { host: 'mx2', program: 'x', shapes: [{ shape: 'a <N>', count: 1, example: 'a 3' }], untallied: 0 },
    ]);
    expect(tally.top(1)[0]?.shapes).toEqual([{ shape: 'b <N>', count: 2, example: 'b 1' }]);
  });

  it('keeps a bounded number of distinct shapes per group and in all, and counts the lines it could not keep', () => {
    const tally = new ShapeTally(2, 3);
    for (const text of ['a', 'b', 'c', 'a', 'c']) tally.add('h', 'p', text);
    for (const text of ['d', 'e', 'd']) tally.add('h', 'q', text);
    const [p, q] = tally.top(10);
    expect(p).toEqual({
      host: 'h',
      program: 'p',
      shapes: [
        { shape: 'a', count: 2, example: 'a' },
        { shape: 'b', count: 1, example: 'b' },
      ],
      untallied: 2,
    });
    expect(q).toEqual({
      host: 'h',
      program: 'q',
      shapes: [{ shape: 'd', count: 2, example: 'd' }],
      untallied: 1,
    });
  });

  it('bounds the example kept', () => {
    const tally = new ShapeTally();
    tally.add('h', 'p', 'x'.repeat(10_000));
    expect(tally.top(1)[0]?.shapes[0]?.example).toHaveLength(512);
  });
});
