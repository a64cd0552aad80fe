/**
 * Values keyed by a line's origin (source and offset), the identity of a log line. Two levels of maps
 * rather than a `source NUL offset` string per line: the saver looks up every line of every batch, and
 * building a key string for each cost more than the lookups themselves.
 */
export class LineMap<V> {
  private readonly bySource = new Map<string, Map<number, V>>();
  size = 0;

  get(source: string, offset: number): V | undefined {
    return this.bySource.get(source)?.get(offset);
  }

  has(source: string, offset: number): boolean {
    return this.bySource.get(source)?.has(offset) ?? false;
  }

  set(source: string, offset: number, value: V): void {
    let byOffset = this.bySource.get(source);
    if (!byOffset) {
      byOffset = new Map();
      this.bySource.set(source, byOffset);
    }
    if (!byOffset.has(offset)) this.size++;
    byOffset.set(offset, value);
  }

  *values(): IterableIterator<V> {
    for (const byOffset of this.bySource.values()) yield* byOffset.values();
  }
}
