/**
 * Mail addresses as they appear in logs: `<alice@Example.ORG>`, `alice@example.org`, `<>` (null sender).
 * Addresses are compared case-insensitively on the domain and, in practice, on the local part too
 * (no site we target has case-sensitive mailboxes), so every stored address is lower-cased.
 */
const MAX_ADDRESS_LENGTH = 512;

/** Strips angle brackets, lower-cases and bounds an address. `<>` becomes the empty string (null sender). */
export function normalizeAddress(value: string): string {
  let s = value.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1);
  if (s.length > MAX_ADDRESS_LENGTH) s = s.slice(0, MAX_ADDRESS_LENGTH);
  return s.toLowerCase();
}

/** Message-ids are compared without angle brackets, case preserved (RFC 5322 ids are case-sensitive). */
export function normalizeMessageId(value: string): string {
  let s = value.trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1);
  if (s.length > MAX_ADDRESS_LENGTH) s = s.slice(0, MAX_ADDRESS_LENGTH);
  return s;
}

export function looksLikeAddress(value: string): boolean {
  return /^<?[^\s<>@]+@[^\s<>@]+>?$/.test(value);
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1);
}
