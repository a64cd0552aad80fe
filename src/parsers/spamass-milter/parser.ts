import type { InfoEvent } from '../../core/events.js';
import type { Frame } from '../../core/frame.js';
import type { ProgramParser } from '../types.js';

/**
 * spamass-milter (a milter that hands the message to spamd through spamc). Its verdict is in spamd's
 * own `result:` line, which names the message-id; spamass-milter itself logs only its life cycle and
 * configuration warnings, recognised here so that they are counted as known lines.
 * Shapes from spamass-milter 0.4.0 (spamass-milter.cpp) as Debian 12 writes them.
 */
const KNOWN: readonly [prefix: string, label: string][] = [
  ['Could not retrieve sendmail macro', 'configuration'],
  ['spamc: ', 'spamc-error'],
  ['spamc ', 'spamc-error'],
  ['SpamAssassin: ', 'spamassassin-error'],
  ['Could not ', 'error'],
];

export const spamassMilterParser: ProgramParser = {
  name: 'spamass-milter',
  handles: (program) => program === 'spamass-milter',
  parse(frame: Frame): InfoEvent | null {
    const text = frame.text;
    if (text.startsWith('spamass-milter ')) {
      if (text.endsWith(' starting')) return { kind: 'info', label: 'start' };
      if (text.endsWith(' exiting')) return { kind: 'info', label: 'stop' };
      return null;
    }
    for (const [prefix, label] of KNOWN) if (text.startsWith(prefix)) return { kind: 'info', label };
    return null;
  },
};
