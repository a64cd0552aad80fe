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
const { parentPort, workerData } = require('node:worker_threads');
const { brotliCompressSync } = require('node:zlib');
parentPort.on('message', ({ id, blobs }) => {
  try {
    parentPort.postMessage({ id, out: blobs.map((b) => brotliCompressSync(b, workerData)) });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});
`;

type Pending = { resolve: (out: Buffer[]) => void; reject: (error: Error) => void };

export class Compressor {
  private worker: Worker | null = null;
  private failed = false;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly options: { params: Record<number, number> }) {}

  /** The blobs compressed, in order. Falls back to the main thread if the worker cannot run. */
  compress(blobs: readonly Uint8Array[]): Promise<Buffer[]> {
    if (blobs.length === 0) return Promise.resolve([]);
    const worker = this.start();
    if (!worker) return Promise.resolve(blobs.map((b) => brotliCompressSync(b, this.options)));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // While a batch is being compressed the worker keeps the process alive; not otherwise.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, blobs });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }

  private start(): Worker | null {
    if (this.worker || this.failed) return this.worker;
    try {
      const worker = new Worker(WORKER, {
        eval: true,
        workerData: this.options,
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
