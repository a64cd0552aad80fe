/**
 * The most frequent shapes of unrecognised lines, per import run, host and program (table
 * `unknown_shapes`): what a parser is missing, kept with the run that met them.
 */
import { insertRows } from './bulk.js';
import { dec, enc } from './codec.js';
import type { Db, Dialect } from './schema.js';
import type { UnknownShapes } from './types.js';

const COLUMNS = [
  ['run_id', 'int8'],
  ['host', 'text'],
  ['program', 'text'],
  ['seq', 'int4'],
  ['shape', 'text'],
  ['count', 'int8'],
  ['example', 'text'],
] as const;

export async function saveUnknownShapes(
  db: Db,
  dialect: Dialect,
  runId: number,
  groups: readonly UnknownShapes[],
): Promise<void> {
  const rows: unknown[][] = [];
  for (const group of groups) {
    group.shapes.forEach((s, seq) => {
      rows.push([runId, enc(group.host), enc(group.program), seq, enc(s.shape), s.count, enc(s.example)]);
    });
  }
  if (rows.length > 0) await insertRows(db, dialect, 'unknown_shapes', COLUMNS, rows);
}

export async function readUnknownShapes(db: Db, runId: number): Promise<UnknownShapes[]> {
  const rows = await db
    .selectFrom('unknown_shapes')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('host')
    .orderBy('program')
    .orderBy('seq')
    .execute();
  const groups: UnknownShapes[] = [];
  let last: UnknownShapes | undefined;
  for (const row of rows) {
    const host = dec(row.host);
    const program = dec(row.program);
    if (last === undefined || last.host !== host || last.program !== program) {
      last = { host, program, shapes: [] };
      groups.push(last);
    }
    last.shapes.push({ shape: dec(row.shape), count: row.count, example: dec(row.example) });
  }
  return groups;
}
