import { chunks, insertRows } from './bulk.js';
import { dec, enc } from './codec.js';
import type { Db, Dialect } from './schema.js';

/**
 * Names cached at most: hosts, programs, kinds and sources are few, but program names come from the
 * lines themselves, so hostile input could make them many. Past the bound the cache starts over
 * (names are re-read when needed), keeping memory bounded whatever the input.
 */
const MAX_CACHED = 50_000;

/**
 * The `names` lookup table: hosts, programs, event kinds and line sources of events and loose lines
 * (and the hosts of queue entries) are stored once and referenced by id. Names are never changed or
 * deleted, so ids are cached for the life of the store. Ids created inside a transaction are only
 * cached once it commits (`adopt`): a rolled-back id would otherwise point at nothing.
 */
export class NameCache {
  private readonly idByValue = new Map<string, number>();
  private readonly valueById = new Map<number, string>();

  /** Ids of `values`, creating missing names. Returns the ids; pass the result to `adopt` after commit. */
  async resolve(db: Db, dialect: Dialect, values: Iterable<string>): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    const missing: string[] = [];
    for (const value of values) {
      if (ids.has(value)) continue;
      const id = this.idByValue.get(value);
      if (id === undefined) {
        missing.push(value);
        ids.set(value, -1);
      } else {
        ids.set(value, id);
      }
    }
    if (missing.length === 0) return ids;
    await this.lookUp(db, missing, ids);
    const absent = missing.filter((v) => ids.get(v) === -1);
    if (absent.length > 0) {
      await insertRows(
        db,
        dialect,
        'names',
        [['value', 'text']],
        absent.map((v) => [enc(v)]),
        ' on conflict ("value") do nothing',
      );
      await this.lookUp(db, absent, ids);
    }
    return ids;
  }

  /** Id of a cached name (committed), without asking the database. */
  cached(value: string): number | undefined {
    return this.idByValue.get(value);
  }

  /** Id of an existing name, or undefined when it was never stored. */
  async find(db: Db, value: string): Promise<number | undefined> {
    const known = this.idByValue.get(value);
    if (known !== undefined) return known;
    const ids = new Map<string, number>();
    await this.lookUp(db, [value], ids);
    const id = ids.get(value);
    if (id !== undefined) this.remember(value, id);
    return id;
  }

  adopt(ids: Map<string, number>): void {
    for (const [value, id] of ids) if (id >= 0) this.remember(value, id);
  }

  /** Values of ids read from stored rows (committed, hence cached at once). */
  async values(db: Db, ids: Iterable<number>): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const missing: number[] = [];
    for (const id of ids) {
      if (out.has(id)) continue;
      const value = this.valueById.get(id);
      if (value === undefined) missing.push(id);
      else out.set(id, value);
    }
    for (const chunk of chunks([...new Set(missing)])) {
      const rows = await db.selectFrom('names').select(['id', 'value']).where('id', 'in', chunk).execute();
      for (const row of rows) {
        const value = dec(row.value);
        out.set(row.id, value);
        this.remember(value, row.id);
      }
    }
    return out;
  }

  private async lookUp(db: Db, values: string[], into: Map<string, number>): Promise<void> {
    for (const chunk of chunks(values)) {
      const rows = await db
        .selectFrom('names')
        .select(['id', 'value'])
        .where(
          'value',
          'in',
          chunk.map((v) => enc(v)),
        )
        .execute();
      for (const row of rows) into.set(dec(row.value), row.id);
    }
  }

  private remember(value: string, id: number): void {
    if (this.idByValue.size >= MAX_CACHED) {
      this.idByValue.clear();
      this.valueById.clear();
    }
    this.idByValue.set(value, id);
    this.valueById.set(id, value);
  }
}

/**
 * The names of one saving transaction: ids of committed names from the cache, ids resolved or created in
 * this transaction on top (`created`, for `NameCache.adopt` once it commits).
 */
export class BatchNames {
  readonly created = new Map<string, number>();

  constructor(
    private readonly cache: NameCache,
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  /** The name's id, or undefined when it has none yet (see `ensure`). */
  readonly id = (name: string): number | undefined => this.created.get(name) ?? this.cache.cached(name);

  /** The name's id, which `ensure` gave it. */
  idOf(name: string): number {
    const id = this.id(name);
    if (id === undefined) throw new Error(`name without an id: ${JSON.stringify(name)}`);
    return id;
  }

  /** Gives every one of `names` an id (creating the missing ones). */
  async ensure(names: Iterable<string>): Promise<void> {
    const missing: string[] = [];
    for (const name of names) if (this.id(name) === undefined) missing.push(name);
    if (missing.length === 0) return;
    for (const [name, id] of await this.cache.resolve(this.db, this.dialect, missing))
      this.created.set(name, id);
  }
}
