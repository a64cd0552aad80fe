#!/usr/bin/env node
// mailtrace benchmark: generates realistic logs, imports them into SQLite and PostgreSQL in a child
// process (so peak RSS is the importer's own), then measures trace latency on the filled database.
// Prints a table and writes docs/benchmarks.md. Speed is measured here, never asserted in tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '35000' },
    days: { type: 'string', default: '1' },
    queries: { type: 'string', default: '200' },
    'skip-pg': { type: 'boolean', default: false },
    pg: { type: 'string', default: process.env.MAILTRACE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432' },
    'no-write': { type: 'boolean', default: false },
  },
});
const messages = Number(args.messages);
const days = Number(args.days);
const bin = join(root, 'bin', 'mailtrace.js');
const work = join(root, '.bench');
mkdirSync(work, { recursive: true });

function run(argv, options = {}) {
  const result = spawnSync(process.execPath, [bin, ...argv], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    ...options,
  });
  if (result.status !== 0 && result.status !== 3) {
    throw new Error(`mailtrace ${argv[0]} failed (${result.status}): ${result.stderr}`);
  }
  return result.stdout;
}

// 1. Logs, generated once per size and reused.
const logsDir = join(work, `logs-${messages}-${days}`);
if (!existsSync(join(logsDir, 'ground-truth.jsonl'))) {
  console.error(`generating ${messages} messages over ${days} days …`);
  run([
    'generate',
    '--messages',
    String(messages),
    '--days',
    String(days),
    '--seed',
    '7',
    '--end',
    '2026-11-28T00:00:00Z',
    '--out',
    logsDir,
  ]);
}
const files = spawnSync('find', [logsDir, '-name', '*.log', '-type', 'f'], { encoding: 'utf8' })
  .stdout.trim()
  .split('\n')
  .sort();
const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
const truth = readFileSync(join(logsDir, 'ground-truth.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));

// 2. Import into each database.
const removeSqlite = () => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(work, `bench.db${suffix}`), { force: true });
};
const targets = [
  { name: 'SQLite', url: join(work, 'bench.db'), prepare: removeSqlite, cleanup: removeSqlite },
];
if (!args['skip-pg']) {
  const dbName = `mailtrace_bench_${process.pid}`;
  const psql = (sql) => spawnSync('psql', [`${args.pg}/postgres`, '-qAtc', sql], { encoding: 'utf8' });
  const probe = psql('select 1');
  if (probe.status === 0) {
    targets.push({
      name: 'PostgreSQL',
      url: `${args.pg}/${dbName}`,
      prepare: () => {
        psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        psql(`CREATE DATABASE ${dbName}`);
      },
      cleanup: () => psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`),
    });
  } else console.error(`PostgreSQL skipped: ${probe.stderr.trim()}`);
}

const { openStore } = await import(join(root, 'dist', 'store', 'index.js'));
const results = [];
for (const target of targets) {
  target.prepare();
  console.error(`importing into ${target.name} …`);
  const started = process.hrtime.bigint();
  const summary = JSON.parse(
    run(['import', '--db', target.url, '--retention', '0', '--json', '--no-progress', ...files]),
  );
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const latency = await measureTraces(target.url);
  const dbBytes = target.name === 'SQLite' ? statSync(target.url).size : null;
  results.push({ target: target.name, summary, wallMs, latency, dbBytes });
  target.cleanup();
}

async function measureTraces(url) {
  const store = await openStore(url);
  const sample = (kind, pick) => {
    const values = [];
    for (
      let i = 0;
      values.length < Number(args.queries) && i < truth.length;
      i += Math.max(1, Math.floor(truth.length / Number(args.queries)))
    ) {
      const v = pick(truth[i]);
      if (v) values.push(v);
    }
    return { kind, values };
  };
  const sets = [
    sample('message-id', (t) => t.messageId),
    sample('address', (t) => t.recipients[0]?.recipient),
    sample('sender', (t) => t.sender || null),
    sample('ip', (t) => t.clientIp),
  ];
  const out = {};
  for (const { kind, values } of sets) {
    for (const value of values.slice(0, 5)) await store.trace({ by: kind, value, limit: 50 }); // warm up
    const times = [];
    for (const value of values) {
      const t0 = process.hrtime.bigint();
      await store.trace({ by: kind, value, limit: 50 });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    out[kind] = { n: times.length, p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
  }
  await store.close();
  return out;
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// 3. Report.
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const n0 = (x) => Math.round(x).toLocaleString('en-US');
const lines = [];
lines.push(`| | ${results.map((r) => r.target).join(' | ')} |`);
lines.push(`|---|${results.map(() => '---:').join('|')}|`);
const row = (label, fn) => lines.push(`| ${label} | ${results.map(fn).join(' | ')} |`);
row('log lines', (r) => n0(r.summary.lines));
row('import lines/s (end to end)', (r) => n0((r.summary.lines * 1000) / r.wallMs));
row('import MB/s', (r) => f1(bytes / 1e6 / (r.wallMs / 1000)));
row('import wall time (s)', (r) => f1(r.wallMs / 1000));
row('peak RSS of the importer (MB)', (r) => n0(r.summary.peakRssBytes / 1e6));
row('messages stored', (r) => n0(r.summary.newMessages));
row('unknown lines', (r) => n0(r.summary.unknown + r.summary.invalid));
row('database size per message (bytes)', (r) => (r.dbBytes ? n0(r.dbBytes / r.summary.newMessages) : '–'));
for (const kind of ['message-id', 'address', 'sender', 'ip']) {
  row(`trace by ${kind} p50 / p99 (ms)`, (r) =>
    r.latency[kind] ? `${f1(r.latency[kind].p50)} / ${f1(r.latency[kind].p99)}` : '–',
  );
}
const table = lines.join('\n');
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(
  `\nmailtrace bench: ${n0(messages)} messages over ${days} days, ${files.length} files, ${f1(bytes / 1e6)} MB\n${machine}\n\n${table}\n`,
);
if (!args['no-write']) {
  const doc = `# Benchmarks

Measured with \`npm run bench -- --messages ${messages} --days ${days}\` on ${new Date().toISOString().slice(0, 10)}:
${machine}. The logs come from \`mailtrace generate\` (seed 7): ${files.length} files, ${f1(bytes / 1e6)} MB,
${n0(results[0]?.summary.lines ?? 0)} lines. Import runs \`mailtrace import --json\` in a child process
(wall time includes start-up, parsing, correlation and every database write); trace latency is
\`store.trace()\` in-process on the filled database, warm, ${args.queries} queries of each kind, limit 50.

${table}
`;
  writeFileSync(join(root, 'docs', 'benchmarks.md'), doc);
}
