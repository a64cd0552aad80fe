/**
 * Growable byte buffer and its reader: unsigned varints (LEB128), signed deltas, UTF-8 strings. The
 * page codec (pages.ts) writes its line metadata with these.
 */

/** Deltas beyond this are written as a float64 (see `ByteWriter.delta`), keeping the varint exact. */
const MAX_DELTA = 2 ** 50;

export class ByteWriter {
  private buf: Buffer;
  length = 0;

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  reset(): void {
    this.length = 0;
  }

  /** The bytes written so far (a view: copy or consume before the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + extra));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  /** A non-negative safe integer. */
  uint(value: number): void {
    this.ensure(8);
    let v = value;
    // Arithmetic rather than bit operators, which would cut values at 32 bits.
    while (v >= 128) {
      this.buf[this.length++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }

  /**
   * `value` relative to `base`: a zigzag varint (shifted left one bit) when both are safe integers and
   * the difference is small; otherwise the marker 1 and the value as a float64, so any number (NaN,
   * fractions, huge values) round-trips exactly.
   */
  delta(value: number, base: number): void {
    const d = value - base;
    if (Number.isSafeInteger(value) && Number.isSafeInteger(base) && Math.abs(d) <= MAX_DELTA) {
      this.uint((d >= 0 ? d * 2 : -d * 2 - 1) * 2);
    } else {
      this.uint(1);
      this.ensure(8);
      this.buf.writeDoubleLE(value, this.length);
      this.length += 8;
    }
  }

  /** Writes `text` as UTF-8 and returns its length in bytes. */
  utf8(text: string): number {
    this.ensure(text.length * 3);
    const n = this.buf.write(text, this.length, 'utf8');
    this.length += n;
    return n;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }
}

export class ByteReader {
  pos = 0;

  constructor(private readonly buf: Buffer) {}

  /** What follows the last value read. */
  rest(): Buffer {
    return this.buf.subarray(this.pos);
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw new Error('truncated varint');
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
    }
  }

  delta(base: number): number {
    const u = this.uint();
    if (u === 1) {
      const value = this.buf.readDoubleLE(this.pos);
      this.pos += 8;
      return value;
    }
    const z = u / 2;
    return base + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
  }
}
