import { describe, expect, it } from 'vitest';
import { decodeAuto, decodeMimeWords, MAX_MIME_INPUT, makeDecoder } from './decode.js';

describe('decodeAuto', () => {
  it('keeps ASCII as is', () => {
    expect(decodeAuto(Buffer.from('postfix/smtpd[1]: connect from x[1.2.3.4]'))).toBe(
      'postfix/smtpd[1]: connect from x[1.2.3.4]',
    );
  });

  it('reads valid UTF-8 as UTF-8', () => {
    // From other-mail/lograptor-tests-samples-rfc5424.log.
    expect(decodeAuto(Buffer.from('Une entré du journal des événements', 'utf8'))).toBe(
      'Une entré du journal des événements',
    );
    expect(decodeAuto(Buffer.from('Grüße 😍', 'utf8'))).toBe('Grüße 😍');
  });

  it('reads invalid UTF-8 as Windows-1252 (Latin-1 letters, € at 0x80)', () => {
    expect(decodeAuto(Buffer.from('Une entré du journal', 'latin1'))).toBe('Une entré du journal');
    expect(decodeAuto(Buffer.from([0x80, 0x20, 0x93, 0x71, 0x94]))).toBe('€ “q”');
    // A truncated UTF-8 sequence makes the whole line Windows-1252: no replacement characters.
    expect(decodeAuto(Buffer.from([0x61, 0xc3]))).toBe('aÃ');
  });

  it('replaces NUL bytes, never throws on any byte', () => {
    expect(decodeAuto(Buffer.from([0x61, 0x00, 0x62]))).toBe('a\uFFFDb');
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const text = decodeAuto(all);
    expect(text.length).toBe(256);
    expect(text.includes('\u0000')).toBe(false);
  });
});

describe('makeDecoder', () => {
  it('auto and empty label use decodeAuto', () => {
    expect(makeDecoder('auto')).toBe(decodeAuto);
    expect(makeDecoder('')).toBe(decodeAuto);
  });

  it('decodes with an iconv-lite label', () => {
    expect(makeDecoder('iso-8859-15')(Buffer.from([0x61, 0xa4]))).toBe('a€');
    expect(makeDecoder('latin1')(Buffer.from([0x61, 0xa4]))).toBe('a¤');
    expect(makeDecoder('KOI8-R')(Buffer.from([0xf0, 0xd2, 0xc9]))).toBe('При');
    expect(makeDecoder('utf-8')(Buffer.from([0x61, 0xff]))).toBe('a\uFFFD');
  });

  it('does not take the ASCII fast path for encodings that are not ASCII-compatible', () => {
    expect(makeDecoder('utf-16le')(Buffer.from('ab', 'utf16le'))).toBe('ab');
  });

  it('throws once for an unknown label', () => {
    expect(() => makeDecoder('klingon-8')).toThrow(/unknown encoding/);
  });
});

describe('decodeMimeWords', () => {
  it('decodes ISO-8859-1 Q words (postfix/sekoia-intake-formats/postfix_cleanup.txt)', () => {
    expect(decodeMimeWords('=?ISO-8859-1?Q?Pb_FTP_=3A_999_Aucune_action_effectu=E9e?=')).toBe(
      'Pb FTP : 999 Aucune action effectuée',
    );
  });

  it('decodes UTF-8 B words (postfix/alborodin85-postfix-logs-parser-test.log)', () => {
    expect(decodeMimeWords('=?utf-8?B?UmU6INCV0YnQtSDQvtC00L3QsCDQv9GA0L7QstC10YDQutCwIERLSU0=?=')).toBe(
      'Re: Еще одна проверка DKIM',
    );
  });

  it('joins adjacent words, dropping the space between them (postfix/postfix-grok-patterns/cleanup.txt)', () => {
    expect(decodeMimeWords('=?utf-8?Q?Gr=C3=BC=C3=9Fe?= =?utf-8?Q?_=E2=80=92?= test')).toBe('Grüße ‒ test');
  });

  it('decodes Windows-1252 words', () => {
    // Constructed: no Windows-1252 encoded word in the corpus.
    expect(decodeMimeWords('Price: =?windows-1252?Q?5_=80?=')).toBe('Price: 5 €');
  });

  it('returns the input when there is nothing to decode, and never throws', () => {
    const plain = 'Subject: hello';
    expect(decodeMimeWords(plain)).toBe(plain);
    expect(typeof decodeMimeWords('=?bogus-charset?Q?abc?=')).toBe('string');
    expect(typeof decodeMimeWords('=?utf-8?B?!!!not base64?=')).toBe('string');
    expect(decodeMimeWords('=?')).toBe('=?');
  });

  it('decodes only a bounded head of very long input', () => {
    const word = '=?ISO-8859-1?Q?Caf=E9?=';
    const long = `${word} ${'x'.repeat(MAX_MIME_INPUT)} ${word}`;
    const decoded = decodeMimeWords(long);
    expect(decoded.startsWith('Café ')).toBe(true);
    expect(decoded.endsWith(` ${word}`)).toBe(true);
  });
});
