import { isIP } from 'node:net';
import type { QueryKind } from '../core/model.js';

export { QUERY_KINDS, type QueryKind } from '../core/model.js';

export interface Interpretation {
  kind: QueryKind;
  value: string;
}

const ADDRESS = /^[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+$/;
/** Postfix short (hex) and long queue ids, Exim message ids, qmail message numbers are not covered. */
const QUEUE_ID = /^(?:[0-9A-F]{6,12}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{12,20})$/;

/**
 * Reads what a user pasted and returns the readings to try, most likely first. `<...>` is a
 * message-id; a bare `local@domain` is first an address, then a message-id (message-ids look like
 * addresses); an IP is a client address; a Postfix queue id is a queue id; anything else is words of
 * a subject.
 */
export function interpretQuery(input: string): Interpretation[] {
  const value = input.trim();
  if (value.startsWith('<') && value.endsWith('>') && value.length > 2) {
    return [{ kind: 'message-id', value: value.slice(1, -1) }];
  }
  if (isIP(value)) return [{ kind: 'ip', value }];
  if (ADDRESS.test(value)) {
    return [
      { kind: 'address', value: value.toLowerCase() },
      { kind: 'message-id', value },
    ];
  }
  if (value.includes('@')) return [{ kind: 'message-id', value }];
  if (QUEUE_ID.test(value)) {
    return [
      { kind: 'queue-id', value },
      { kind: 'subject', value },
    ];
  }
  return [{ kind: 'subject', value }];
}

/** A relative duration such as `2d`, `12h`, `30m`, `1w` in milliseconds, or null when it is not one. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!match) return null;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as 's'];
  return Math.round(Number(match[1]) * unit);
}

/** A point in time: an ISO-8601 date/time, or a duration back from now (`2d`). */
export function parseTimeArg(text: string, now = Date.now()): number | null {
  const back = parseDuration(text);
  if (back !== null) return now - back;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : t;
}
