/**
 * Shell-style globs for configured log paths (`/var/log/mail/*.log`, `/srv/qmail/log/?/current`):
 * `*`, `?` and `[...]` within one path segment; no `**`. A `*` or `?` does not match a leading dot,
 * as in the shell. Expanded over a `FollowFs`, so the same patterns work locally and over SFTP.
 */
import type { FollowFs } from './follow-fs.js';

/** The pattern has glob characters (otherwise it is a plain path, followed even while missing). */
export function hasMagic(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** One path segment's pattern as an anchored regular expression. */
export function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function join(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * The regular files matching `pattern`, sorted. Directories that cannot be read are skipped (a glob
 * matches what it can see).
 */
export async function expandGlob(pattern: string, fs: FollowFs): Promise<string[]> {
  const segments = pattern.split('/');
  let prefixes = [pattern.startsWith('/') ? '/' : ''];
  const first = pattern.startsWith('/') ? 1 : 0;
  for (let s = first; s < segments.length; s++) {
    const segment = segments[s]!;
    if (segment === '') continue;
    if (!hasMagic(segment)) {
      prefixes = prefixes.map((p) => join(p, segment));
      continue;
    }
    const re = segmentRegExp(segment);
    const dotOk = segment.startsWith('.');
    const next: string[] = [];
    for (const prefix of prefixes) {
      let names: string[];
      try {
        names = await fs.readdir(prefix === '' ? '.' : prefix);
      } catch {
        continue;
      }
      for (const name of names) {
        if (!dotOk && name.startsWith('.')) continue;
        if (re.test(name)) next.push(join(prefix, name));
      }
    }
    prefixes = next;
  }
  const files: string[] = [];
  for (const path of prefixes) {
    const info = await fs.stat(path).catch(() => null);
    if (info?.isFile) files.push(path);
  }
  return files.sort();
}
