import { describe, it } from 'node:test';
import fc from 'fast-check';
import { randn, scaledDotProductAttentionWithLse, tensor, type AttentionOptions, type FloatDType } from '../src/index.js';
import { IMPLS, dtypesOf, takesModelOptions } from './helpers/backends.js';
import { refAttention } from './helpers/attention-reference.js';
import { refOptions } from './helpers/ref-options.js';
import { assertClose, lseTolerance, maxAbs, outputTolerance } from './helpers/close.js';
import { decodeOptionsArb } from './helpers/decode-options.js';

// One query row per kv head (hq = hkv, L = 1): the shape for which the wasm
// decode kernel takes its own score loop (assembly/decode-row.ts: key by key,
// 16 floats a step, then 4, then one, touching V as it goes). Head sizes
// around and above 16 (and 64, 128) so that every step and tail of that loop
// runs, over up to 700 keys (several key chunks and 64-key blocks, with a
// ragged last block), with a random subset of every option, dropout
// included, on every backend in every dtype it takes, against the float64
// formula. attention-decode-properties.test.ts draws GQA groups and up to
// 16 rows, and head sizes under 16: it reaches this path rarely.
const RUNS = 30;

const rowArb = (dtypes: readonly FloatDType[]) => fc.record({
  dtype: fc.constantFrom(...dtypes), b: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 1, max: 3 }),
  s: fc.integer({ min: 1, max: 700 }),
  e: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(64, 128)),
  ev: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(64, 128)),
  isCausal: fc.boolean(), seed: fc.integer({ min: 0, max: 1000 }),
}).chain((d) => fc.record({
  options: decodeOptionsArb(d, d.h),
  dropoutP: fc.option(fc.constantFrom(0.1, 0.5), { nil: undefined }),
}).map(({ options, dropoutP }) => ({ ...d, ...options, dropoutP })));

for (const impl of IMPLS) {
  const dtypes = dtypesOf(impl).filter((d) => takesModelOptions(impl, d));
  describe(`attention decode, one query row per kv head [${impl}]`, { skip: dtypes.length === 0 ? `${impl} does not take the model options` : false }, () => {
    it('matches the float64 formula (output and lse) over long keys, with every option, mask and dropout', () => {
      fc.assert(fc.property(rowArb(dtypes), (p) => {
        const q = randn([p.b, p.h, 1, p.e], { seed: p.seed, dtype: p.dtype });
        const k = randn([p.b, p.h, p.s, p.e], { seed: p.seed + 1, dtype: p.dtype });
        const v = randn([p.b, p.h, p.s, p.ev], { seed: p.seed + 2, dtype: p.dtype });
        // A mask per (head, key): 1 in 4 keys hidden, or additive values in [-2, 2].
        const maskValues = Array.from({ length: p.h * p.s }, (_, i) => ((i * 2654435761) >>> 0) % 4);
        const attnMask = p.mask === 'none' ? undefined : p.mask === 'bool'
          ? tensor(maskValues.map((x) => (x === 0 ? 0 : 1)), [p.h, 1, p.s], { dtype: 'bool' })
          : tensor(maskValues.map((x) => x - 2), [p.h, 1, p.s], { dtype: 'float64' });
        const options: AttentionOptions = {
          isCausal: p.isCausal,
          ...(p.softcap !== undefined ? { softcap: p.softcap } : {}), ...(p.alibiSlopes ? { alibiSlopes: p.alibiSlopes } : {}),
          ...(p.window ? { window: p.window } : {}), ...(p.keyLengths ? { keyLengths: p.keyLengths } : {}),
          ...(p.sinks ? { sinks: p.sinks } : {}), ...(attnMask ? { attnMask } : {}),
          ...(p.dropoutP !== undefined ? { dropoutP: p.dropoutP, seed: p.seed } : {}),
        };
        const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, { ...options, impl });
        const exact = refAttention(q, k, v, refOptions(options));
        assertClose(output.data, exact.output, (i) =>
          outputTolerance(p.dtype, p.s, p.e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / p.ev)], maxAbs(v.data)), 'output');
        assertClose(lse.data, exact.lse, (i) => lseTolerance(p.dtype, p.s, p.e, exact.lse[i], exact.scoreMag[i]), 'lse');
      }), { numRuns: RUNS });
    });
  });
}
