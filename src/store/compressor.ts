import { Worker } from 'node:worker_threads';
import { brotliCompressSync } from 'node:zlib';

/**
 * Compresses page blobs on a worker thread, so that a batch's pages compress while the saver writes its
 * other rows (on the main thread with SQLite, on the server with PostgreSQL). Measured on the benchmark,
 * compression is a tenth of the import's time; Brotli on libuv's thread pool, one asynchronous call per
 * blob, cost more in overhead than it moved off the main thread. One message per batch costs nothing
 * next to it.
 *
 * The worker's code is given inline (plain JavaScript, no file to find from the sources or `dist/`).
 * Blobs are copied, not transferred: small buffers share Node's allocation pool, which must not be
 * detached, and a batch's blobs are a few MB.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { brotliCompressSync } = require('node:zlib');
const owned = (b) => b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;
parentPort.on('message', ({ id, jobs }) => {
  try {
    // A small result shares the worker's allocation pool: copy it before handing its memory over.
    const out = jobs.map((j) => brotliCompressSync(j.data, { params: j.params })).map((b) => (owned(b) ? b : new Uint8Array(b)));
    parentPort.postMessage({ id, out }, out.map((b) => b.buffer));
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});
`;

/** A blob to compress with Brotli, and the Brotli parameters to use. */
export interface CompressJob {
  data: Uint8Array;
  params: Record<number, number>;
}

/**
 * The memory a blob may hand over to the worker: its own ArrayBuffer (a page's text or meta, one
 * allocation each), not a slice of Node's shared pool (pooled slices are under half the 8 KiB pool, so
 * they never span a whole ArrayBuffer).
 */
function ownBuffer(data: Uint8Array): ArrayBuffer | null {
  const buffer = data.buffer;
  return buffer instanceof ArrayBuffer &&
    data.byteOffset <= 1 &&
    buffer.byteLength === data.byteOffset + data.byteLength
    ? buffer
    : null;
}

type Pending = { resolve: (out: Buffer[]) => void; reject: (error: Error) => void };

export class Compressor {
  private worker: Worker | null = null;
  private failed = false;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  /**
   * The blobs compressed, in order. A blob that owns its memory hands it over to the worker: it reads
   * as empty afterwards. (This frees it at once instead of at the next collection: a batch's pages are
   * megabytes.) Falls back to the main thread if the worker cannot run.
   */
  compress(jobs: readonly CompressJob[]): Promise<Buffer[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    const worker = this.start();
    if (!worker) return Promise.resolve(jobs.map((j) => brotliCompressSync(j.data, { params: j.params })));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // While a batch is being compressed the worker keeps the process alive; not otherwise.
      if (this.pending.size === 1) worker.ref();
      const transfer = new Set<ArrayBuffer>();
      for (const job of jobs) {
        const buffer = ownBuffer(job.data);
        if (buffer) transfer.add(buffer);
      }
      worker.postMessage({ id, jobs }, [...transfer]);
    });
  }

  /** Ends the worker; later calls compress on the main thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failed = true;
    if (worker) await worker.terminate();
  }

  private start(): Worker | null {
    if (this.worker || this.failed) return this.worker;
    try {
      const worker = new Worker(WORKER, {
        eval: true,
        // It holds one batch's blobs at a time: a small heap keeps the importer's memory bounded.
        resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 64 },
      });
      worker.unref();
      worker.on('message', (message: { id: number; out?: Uint8Array[]; error?: string }) =>
        this.settle(message),
      );
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', () => this.fail(new Error('compression worker exited')));
      this.worker = worker;
    } catch {
      this.failed = true;
    }
    return this.worker;
  }

  private settle({ id, out, error }: { id: number; out?: Uint8Array[]; error?: string }): void {
    const job = this.pending.get(id);
    if (!job) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    if (error !== undefined || !out) job.reject(new Error(`page compression failed: ${error}`));
    // Structured clone hands back Uint8Arrays: wrap them (no copy) as Buffers.
    else job.resolve(out.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
  }

  /** The worker is gone: pending batches fail, later ones are compressed on the main thread. */
  private fail(error: Error): void {
    this.worker = null;
    this.failed = true;
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
  }
}
