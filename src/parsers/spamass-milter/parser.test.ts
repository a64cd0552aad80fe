import { describe, expect, it } from 'vitest';
import { fixtureLines, frame, frameLines } from '../testing/corpus.js';
import { spamassMilterParser } from './parser.js';

describe('spamass-milter parser', () => {
  const lines = frameLines(fixtureLines(new URL('./fixtures/lab.log', import.meta.url)));

  it('should recognise every line the real spamass-milter wrote in the mail lab', () => {
    expect(lines).toHaveLength(3);
    expect(lines.map((l) => spamassMilterParser.parse(l))).toEqual([
      { kind: 'info', label: 'start' },
      { kind: 'info', label: 'configuration' },
      { kind: 'info', label: 'stop' },
    ]);
  });

  it('should handle only its own program and leave unknown text unknown', () => {
    expect(spamassMilterParser.handles('spamass-milter')).toBe(true);
    expect(spamassMilterParser.handles('spamd')).toBe(false);
    expect(spamassMilterParser.parse(frame('spamass-milter', 'something new'))).toBeNull();
    expect(spamassMilterParser.parse(frame('spamass-milter', 'spamass-milter 0.4.0 '))).toBeNull();
  });
});
