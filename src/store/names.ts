import { chunks, insertRows } from './bulk.js';
import { dec, enc } from './codec.js';
import type { Db, Dialect } from './schema.js';

/**
 * The `names` lookup table: hosts, programs, event kinds and line sources of events and loose lines are
 * stored once and referenced by id. Names are never changed or deleted, so ids are cached for the life of
 * the store. Ids created inside a transaction are only cached once it commits (`adopt`): a rolled-back
 * id would otherwise point at nothing.
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
    const missing = [...new Set(ids)].filter((id) => !this.valueById.has(id));
    for (const chunk of chunks(missing)) {
      const rows = await db.selectFrom('names').select(['id', 'value']).where('id', 'in', chunk).execute();
      for (const row of rows) this.remember(dec(row.value), row.id);
    }
    return this.valueById;
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
    this.idByValue.set(value, id);
    this.valueById.set(id, value);
  }
}
