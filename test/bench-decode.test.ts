import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT } from '../src/cli/main.js';
import { BandwidthPool } from '../src/bench/bandwidth.js';
import { decodeBench, decodeTable, parseDecodeShape, type DecodeResult } from '../src/bench/decode.js';
import { nodeDecodeHost } from '../src/bench/decode-run.js';
import { ScaledotError } from '../src/tensor/index.js';
import { runCli } from './helpers/cli.js';

describe('scaledot bench --decode', () => {
  it('reads decode-HQ[/HKV]xSxE[-lL] and refuses anything else, naming the form', () => {
    assert.deepEqual(parseDecodeShape('decode-32/8x4096x128'), { name: 'decode-32/8x4096x128', hq: 32, hkv: 8, s: 4096, e: 128, l: 1 });
    assert.deepEqual(parseDecodeShape('decode-8x100x64-l4'), { name: 'decode-8x100x64-l4', hq: 8, hkv: 8, s: 100, e: 64, l: 4 });
    for (const bad of ['8x4096x128', 'decode-3/2x10x4', 'decode-8x0x64', 'decode-8x10x64-l0']) {
      assert.throws(() => parseDecodeShape(bad), (err: unknown) => err instanceof ScaledotError && err.code === 'E_OPTION' && err.message.includes('decode-HQ'), bad);
    }
  });

  it('exits 2 for a flag of the other runs, a bad decode shape or --rounds, and --rounds without --decode', async () => {
    for (const args of [
      ['bench', '--decode', '--impl', 'wasm'], ['bench', '--decode', '--shape', 'decode-3/2x8x4'], ['bench', '--decode', '--rounds', '0'],
      ['bench', '--rounds', '3'],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, EXIT.usage, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.out, '', args.join(' '));
      assert.match(r.err, /--(impl|shape|rounds)|decode shape/, args.join(' '));
    }
  });

  it('times every row of a shape, with a read ceiling measured between the rounds', async () => {
    const pool = new BandwidthPool(1, 8 * 2 ** 20);
    try {
      const result = await decodeBench(parseDecodeShape('decode-4/2x300x8-l2'), 1, nodeDecodeHost(pool, 1));
      const names = result.rows.map((r) => r.name);
      for (const name of ['scaledot', 'scaledot-cache', 'scaledot-cache-bf16', 'copy']) assert.ok(names.includes(name), name);
      for (const row of result.rows.filter((r) => !r.name.startsWith('ort'))) assert.ok(row.ms > 0 && row.gbps > 0, row.name);
      assert.equal(result.kvBytes, 2 * 2 * 300 * 8 * 4);
      assert.ok(result.ceilingGbps > 0 && result.ceilingTrials.length === 1);
    } finally {
      await pool.close();
    }
  });

  it('gives each row its share of the read ceiling and the faster onnxruntime-web graph\'s time over its own', () => {
    const shape = parseDecodeShape('decode-8x4096x128');
    const result: DecodeResult = {
      shape, ceilingGbps: 20, ceilingTrials: [20], kvBytes: 2 ** 25,
      rows: [
        { name: 'scaledot-cache', ms: 2, gbps: 10, note: '' },
        { name: 'ort-web-unfused', ms: 8, gbps: 2.5, note: '' },
        { name: 'ort-web-mha', ms: 16, gbps: 1.25, note: '' },
        { name: 'copy', ms: 1, gbps: 40, note: '' },
      ],
    };
    const cells = decodeTable([result]).split('\n').slice(2).map((line) => line.split('|').slice(1, -1).map((c) => c.trim()));
    assert.deepEqual(cells[0].slice(1, 6), ['scaledot-cache', '2.00', '10.0', '50%', '4.00x']);
    assert.deepEqual(cells[2].slice(4, 6), ['6%', '0.50x']);
    assert.deepEqual(cells[3].slice(4, 6), ['-', '-']);
    assert.deepEqual(cells[4].slice(1, 5), ['read ceiling', '', '20.0', '100%']);
  });
});
