import { brotliDecompressSync, constants } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Compressor } from './compressor.js';

const params = { [constants.BROTLI_PARAM_QUALITY]: 1 };

describe('compressor', () => {
  let compressor: Compressor;
  afterEach(async () => {
    await compressor.close();
  });

  it('compresses batches of blobs on its worker, each in order', async () => {
    compressor = new Compressor();
    // Small blobs come from Node's shared allocation pool: they must be copied, never detached.
    const small = Buffer.from('May 18 22:31:12 lhansible postfix/qmgr[30620]: 0EA5228A: removed');
    const big = Buffer.from('x'.repeat(100_000) + 'é');
    const bigText = big.toString();
    const batches = await Promise.all([
      compressor.compress([
        { data: small, params },
        { data: big, params: { [constants.BROTLI_PARAM_QUALITY]: 5 } },
      ]),
      compressor.compress([{ data: Buffer.from(bigText), params }]),
    ]);
    expect(batches.map((b) => b.map((c) => brotliDecompressSync(c).toString()))).toEqual([
      [small.toString(), bigText],
      [bigText],
    ]);
    // The small blob was copied (it stays readable), the big one handed over.
    expect(small.toString()).toContain('removed');
    expect(big.length).toBe(0);
    expect(await compressor.compress([])).toEqual([]);
  });

  it('keeps working after its worker is gone, on the main thread', async () => {
    compressor = new Compressor();
    await compressor.compress([{ data: Buffer.from('warm up'), params }]);
    await compressor.close();
    const [out] = await compressor.compress([{ data: Buffer.from('after close'), params }]);
    expect(brotliDecompressSync(out!).toString()).toBe('after close');
  });
});
