/**
 * Seeded pseudo-random numbers (xoshiro128**, seeded through splitmix32). Every random choice of the
 * generator goes through one of these, consumed in a fixed order, so the same options give
 * byte-identical files.
 */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const HEX = '0123456789abcdef';

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    // Fold seeds beyond 32 bits so that every integer seed gives its own stream.
    let x = (seed >>> 0) ^ (Math.floor(Math.abs(seed) / 4294967296) >>> 0);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A child generator with its own stream, so one part's choices do not shift another's. */
  fork(salt: number): Rng {
    return new Rng((this.u32() ^ Math.imul(salt, 0x27d4eb2d)) >>> 0);
  }

  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Uniform real in [min, max). */
  real(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Picks by weight: `[[value, weight], ...]`. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.next() * total;
    for (const [value, w] of items) {
      r -= w;
      if (r < 0) return value;
    }
    const last = items[items.length - 1];
    if (last === undefined) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  /** Exponentially distributed with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Log-normal around `median` (spread: sigma of the underlying normal). */
  logNormal(median: number, sigma: number): number {
    const u = 1 - this.next();
    const v = this.next();
    const n = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return median * Math.exp(sigma * n);
  }

  private chars(alphabet: string, n: number): string {
    let s = '';
    const size = alphabet.length;
    if (size === 16 || size === 64) {
      // Power-of-two alphabets: several characters from each 32-bit draw.
      const bits = size === 16 ? 4 : 6;
      const mask = size - 1;
      const per = Math.floor(32 / bits);
      let word = 0;
      for (let i = 0; i < n; i++) {
        if (i % per === 0) word = this.u32();
        s += alphabet[word & mask];
        word >>>= bits;
      }
      return s;
    }
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * size)];
    return s;
  }

  hex(n: number): string {
    return this.chars(HEX, n);
  }
  upperHex(n: number): string {
    return this.chars(HEX, n).toUpperCase();
  }
  base64(n: number): string {
    return this.chars(B64, n);
  }
  base64url(n: number): string {
    return this.chars(B64URL, n);
  }
  alnum(n: number): string {
    return this.chars(ALNUM, n);
  }
  lower(n: number): string {
    return this.chars(LOWER, n);
  }
}
