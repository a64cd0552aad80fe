/**
 * Bytes → string for log lines, and RFC 2047 encoded-word decoding for header values that programs
 * log verbatim (Subject in Postfix header_checks lines...). Nothing here throws on bad input.
 *
 * Program-specific escapes (qmail's, Postfix's `\\x`-style quoting) are not decoded here: that is the
 * parsers' business, they know which fields carry them.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import libmime from 'libmime';

export type LineDecoder = (bytes: Buffer) => string;

const NUL = 0;

/**
 * NUL is never meaningful in a log line and stores such as PostgreSQL reject it in text: each NUL
 * becomes U+FFFD. `indexOf` is a native scan, so clean lines pay almost nothing.
 */
function withoutNul(bytes: Buffer, text: string): string {
  return bytes.indexOf(NUL) < 0 ? text : text.replaceAll('\u0000', '\uFFFD');
}

/** `auto`: ASCII fast path; valid UTF-8 as UTF-8; anything else as Windows-1252 (never fails). */
export function decodeAuto(bytes: Buffer): string {
  if (isAscii(bytes)) return withoutNul(bytes, bytes.toString('latin1'));
  if (isUtf8(bytes)) return withoutNul(bytes, bytes.toString('utf8'));
  return withoutNul(bytes, iconv.decode(bytes, 'windows-1252'));
}

function isUtf8Label(label: string): boolean {
  return label === 'utf8' || label === 'utf-8';
}

/**
 * A decoder for the `encoding` framing option. `auto` as above; any other value is an iconv-lite label
 * (`latin1`, `iso-8859-15`, `utf-8`...). An unknown label is a configuration error and throws here,
 * once, never per line.
 */
export function makeDecoder(encoding: string): LineDecoder {
  const label = encoding.trim().toLowerCase();
  if (label === '' || label === 'auto') return decodeAuto;
  if (!iconv.encodingExists(label)) throw new Error(`unknown encoding: ${encoding}`);
  if (isUtf8Label(label)) {
    // Node's own UTF-8 decoder: invalid sequences become U+FFFD, like iconv-lite's, only faster.
    return (bytes) => withoutNul(bytes, bytes.toString('utf8'));
  }
  const asciiCompatible =
    iconv.decode(ASCII_PROBE, label, { stripBOM: false }) === ASCII_PROBE.toString('latin1');
  return (bytes) => {
    if (asciiCompatible && isAscii(bytes)) return withoutNul(bytes, bytes.toString('latin1'));
    return withoutNul(bytes, iconv.decode(bytes, label, { stripBOM: false }));
  };
}

/** Every ASCII byte: an encoding that decodes it unchanged can take the ASCII fast path. */
const ASCII_PROBE = Buffer.from(Array.from({ length: 128 }, (_, i) => i));

/** Longest input `decodeMimeWords` looks at; the rest is appended unchanged. */
export const MAX_MIME_INPUT = 8192;

/**
 * Decodes RFC 2047 encoded words (`=?ISO-8859-1?Q?Caf=E9?=`, `=?UTF-8?B?...?=`, adjacent words joined
 * as the RFC says). Returns the input when it has no encoded word or when decoding fails. Only the
 * first `MAX_MIME_INPUT` characters are decoded (cut at a space, so a word is not split).
 */
export function decodeMimeWords(text: string): string {
  if (!text.includes('=?')) return text;
  let head = text;
  let tail = '';
  if (text.length > MAX_MIME_INPUT) {
    const cut = text.lastIndexOf(' ', MAX_MIME_INPUT);
    const at = cut > 0 ? cut : MAX_MIME_INPUT;
    head = text.slice(0, at);
    tail = text.slice(at);
  }
  try {
    const decoded = libmime.decodeWords(head);
    return typeof decoded === 'string' ? decoded + tail : text;
  } catch {
    return text;
  }
}
