import type BetterSqlite3 from 'better-sqlite3';
import { Migrator, sql } from 'kysely';
import type { MessageRecord } from '../core/model.js';
import { chunks, insertRows, inTransaction, type Tx } from './bulk.js';
import { dec, enc, encOrNull } from './codec.js';
import { Compressor } from './compressor.js';
import { connect } from './connect.js';
import { migrationProvider } from './migrations/index.js';
import { NameCache } from './names.js';

import { countAll, purgeLooseLines, purgeMessages } from './purge.js';
import { clampLimit, exportMessages, looseLines, trace } from './read.js';
import { saveInTransaction, saveMemory } from './save.js';
import type { Db, Dialect } from './schema.js';
import { readUnknownShapes, saveUnknownShapes } from './shapes.js';
import type {
  ImportRun,
  LooseLine,
  LooseLineQuery,
  PurgeResult,
  SaveBatch,
  SaveResult,
  Store,
  StoreCounts,
  StoredImportRun,
  TimeRange,
  TraceQuery,
  UnknownShapes,
} from './types.js';

export type * from './types.js';
export { TRACE_KINDS } from './types.js';

/**
 * Opens the store. `url`: `postgres://...` (or `postgresql://`) for PostgreSQL, anything else is a
 * SQLite file path (an optional `sqlite:` prefix is dropped; the parent directory is created).
 * Call `migrate()` before the first save.
 */
export async function openStore(url: string, opts: { readonly?: boolean } = {}): Promise<Store> {
  const { db, dialect, sqlite } = connect(url, opts.readonly === true);
  return new KyselyStore(db, dialect, sqlite);
}

/**
 * Rows written by this process after which PostgreSQL statistics are refreshed. A fresh database has
 * none until autovacuum gets to it, and without them the planner misjudges the batched `IN` lookups on
 * tables that grew from nothing to millions of rows within one import (seen: a scan of every line of
 * a file instead of 500 index probes). A few ANALYZEs at growing intervals cost well under a second.
 */
const ANALYZE_AFTER = [20_000, 200_000, 2_000_000, 20_000_000];

class KyselyStore implements Store {
  private readonly names = new NameCache();
  private memory = saveMemory();
  private readonly compressor = new Compressor();
  private rowsWritten = 0;
  private nextAnalyze = 0;

  constructor(
    private readonly db: Db,
    readonly dialect: Dialect,
    /** The SQLite connection under `db`, for the saver's prepared statements (null on PostgreSQL). */
    private readonly sqlite: BetterSqlite3.Database | null,
  ) {}

  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: migrationProvider(this.dialect) });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new Error(`store migration ${failed ?? ''} failed: ${String(error)}`, { cause: error });
    }
  }

  async saveBatch(batch: SaveBatch): Promise<SaveResult> {
    if (batch.messages.length === 0 && batch.looseLines.length === 0) {
      return { inserted: 0, merged: 0, collapsed: 0, duplicates: 0, events: 0, looseLines: 0 };
    }
    const { result, nameIds, committed } = await inTransaction(
      this.db,
      this.dialect,
      (tx) => saveInTransaction(this.tx(tx), this.names, this.memory, batch),
      { serialize: true, relaxed: true },
    );
    this.names.adopt(nameIds);
    committed();
    await this.refreshStatistics(result.inserted + result.events + result.looseLines);
    return result;
  }

  private async refreshStatistics(written: number): Promise<void> {
    this.rowsWritten += written;
    const threshold = ANALYZE_AFTER[this.nextAnalyze];
    if (this.dialect !== 'postgres' || threshold === undefined || this.rowsWritten < threshold) return;
    while ((ANALYZE_AFTER[this.nextAnalyze] ?? Number.POSITIVE_INFINITY) <= this.rowsWritten)
      this.nextAnalyze++;
    await sql`analyze messages, recipients, queue_refs, handoffs, event_slots, event_spans, loose_spans`.execute(
      this.db,
    );
  }

  trace(query: TraceQuery): Promise<MessageRecord[]> {
    return trace(this.db, this.dialect, this.names, query);
  }

  exportMessages(range: TimeRange): AsyncIterable<MessageRecord> {
    return exportMessages(this.db, this.names, range);
  }

  looseLines(query: LooseLineQuery): Promise<LooseLine[]> {
    return looseLines(this.db, this.names, query);
  }

  async purge(before: number): Promise<PurgeResult> {
    const tx = this.tx(this.db);
    const out = await purgeMessages(tx, this.names, before);
    out.looseLines = await purgeLooseLines(tx, this.names, before);
    // What the saver remembers of its writes may name lines that are gone now.
    if (Object.values(out).some((n) => n > 0)) this.memory = saveMemory();
    return out;
  }

  async recordImport(run: ImportRun): Promise<void> {
    await inTransaction(
      this.db,
      this.dialect,
      async (tx) => {
        const row = await tx
          .insertInto('import_runs')
          .values({ started_at: run.startedAt, finished_at: run.finishedAt })
          .returning('id')
          .executeTakeFirstOrThrow();
        await insertRows(
          tx,
          this.dialect,
          'import_files',
          [
            ['run_id', 'int8'],
            ['seq', 'int4'],
            ['path', 'text'],
          ],
          run.files.map((path, seq) => [row.id, seq, enc(path)]),
        );
        await insertRows(
          tx,
          this.dialect,
          'line_stats',
          [
            ['run_id', 'int8'],
            ['host', 'text'],
            ['program', 'text'],
            ['parser', 'text'],
            ['seen', 'int8'],
            ['parsed', 'int8'],
            ['unknown', 'int8'],
            ['invalid', 'int8'],
          ],
          run.stats.map((s) => [
            row.id,
            enc(s.host),
            enc(s.program),
            encOrNull(s.parser),
            s.seen,
            s.parsed,
            s.unknown,
            s.invalid,
          ]),
        );
        await saveUnknownShapes(tx, this.dialect, row.id, run.unknownShapes ?? []);
      },
      { serialize: false },
    );
  }

  unknownShapes(runId: number): Promise<UnknownShapes[]> {
    return readUnknownShapes(this.db, runId);
  }

  async importRuns(limit = 100): Promise<StoredImportRun[]> {
    const runs = await this.db
      .selectFrom('import_runs')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(clampLimit(limit))
      .execute();
    const byId = new Map<number, StoredImportRun>();
    for (const r of runs) {
      byId.set(r.id, { id: r.id, startedAt: r.started_at, finishedAt: r.finished_at, files: [], stats: [] });
    }
    for (const chunk of chunks([...byId.keys()])) {
      const files = await this.db
        .selectFrom('import_files')
        .selectAll()
        .where('run_id', 'in', chunk)
        .orderBy('run_id')
        .orderBy('seq')
        .execute();
      for (const f of files) byId.get(f.run_id)?.files.push(dec(f.path));
      const stats = await this.db
        .selectFrom('line_stats')
        .selectAll()
        .where('run_id', 'in', chunk)
        .orderBy('run_id')
        .orderBy('host')
        .orderBy('program')
        .execute();
      for (const s of stats) {
        byId.get(s.run_id)?.stats.push({
          host: dec(s.host),
          program: dec(s.program),
          parser: s.parser === null ? null : dec(s.parser),
          seen: s.seen,
          parsed: s.parsed,
          unknown: s.unknown,
          invalid: s.invalid,
        });
      }
    }
    return [...byId.values()];
  }

  counts(): Promise<StoreCounts> {
    return countAll(this.db, this.names);
  }

  async close(): Promise<void> {
    if (this.dialect === 'sqlite') {
      // SQLite's advice for long-lived connections: refresh planner statistics where they went stale.
      // A read-only connection cannot write them; that is fine.
      await sql`pragma optimize`.execute(this.db).catch(() => undefined);
    }
    await this.compressor.close();
    await this.db.destroy();
  }

  private tx(db: Db): Tx {
    return { db, dialect: this.dialect, sqlite: this.sqlite, compressor: this.compressor };
  }
}
