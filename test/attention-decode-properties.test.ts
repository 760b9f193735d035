import { describe, it } from 'node:test';
import fc from 'fast-check';
import { randn, scaledDotProductAttentionWithLse, tensor, type FloatDType } from '../src/index.js';
import { IMPLS, dtypesOf, takesModelOptions } from './helpers/backends.js';
import { refAttention } from './helpers/attention-reference.js';
import { assertClose, lseTolerance, maxAbs, outputTolerance } from './helpers/close.js';
import { decodeOptionsArb } from './helpers/decode-options.js';

// Decoding shapes (L = 1…16 query rows over up to 700 keys: several of the
// wasm decode kernel's key chunks and blocks), with a random subset of every
// option, on every backend in every dtype it takes, against the float64 formula.
const RUNS = 25;

const decodeArb = (dtypes: readonly FloatDType[]) => fc.record({
  dtype: fc.constantFrom(...dtypes), b: fc.integer({ min: 1, max: 2 }), hkv: fc.integer({ min: 1, max: 2 }),
  group: fc.integer({ min: 1, max: 3 }), l: fc.integer({ min: 1, max: 16 }), s: fc.integer({ min: 1, max: 700 }),
  e: fc.integer({ min: 1, max: 12 }), ev: fc.integer({ min: 1, max: 9 }), isCausal: fc.boolean(), seed: fc.integer({ min: 0, max: 1000 }),
}).chain((d) => {
  const hq = d.hkv * d.group;
  return decodeOptionsArb(d, hq).map((o) => ({ ...d, hq, ...o }));
});

for (const impl of IMPLS) {
  const dtypes = dtypesOf(impl).filter((d) => takesModelOptions(impl, d));
  describe(`attention decode shapes, properties [${impl}]`, { skip: dtypes.length === 0 ? `${impl} does not take the model options` : false }, () => {
    it('matches the float64 formula (output and lse) for L = 1…16 over long keys, with every option and mask', () => {
      fc.assert(fc.property(decodeArb(dtypes), (p) => {
        const q = randn([p.b, p.hq, p.l, p.e], { seed: p.seed, dtype: p.dtype });
        const k = randn([p.b, p.hkv, p.s, p.e], { seed: p.seed + 1, dtype: p.dtype });
        const v = randn([p.b, p.hkv, p.s, p.ev], { seed: p.seed + 2, dtype: p.dtype });
        // A mask per (query head, row, key): 1 in 4 keys hidden, or additive values in [-2, 2].
        const n = p.hq * p.l * p.s;
        const maskValues = Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 0) % 4);
        const attnMask = p.mask === 'none' ? undefined : p.mask === 'bool'
          ? tensor(maskValues.map((x) => (x === 0 ? 0 : 1)), [p.hq, p.l, p.s], { dtype: 'bool' })
          : tensor(maskValues.map((x) => x - 2), [p.hq, p.l, p.s], { dtype: 'float64' });
        const options = {
          isCausal: p.isCausal,
          ...(p.softcap !== undefined ? { softcap: p.softcap } : {}), ...(p.alibiSlopes ? { alibiSlopes: p.alibiSlopes } : {}),
          ...(p.window ? { window: p.window } : {}), ...(p.keyLengths ? { keyLengths: p.keyLengths } : {}),
          ...(p.sinks ? { sinks: p.sinks } : {}), ...(attnMask ? { attnMask } : {}),
        };
        const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, { ...options, enableGqa: true, impl });
        const exact = refAttention(q, k, v, options);
        assertClose(output.data, exact.output, (i) =>
          outputTolerance(p.dtype, p.s, p.e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / p.ev)], maxAbs(v.data)), 'output');
        assertClose(lse.data, exact.lse, (i) => lseTolerance(p.dtype, p.s, p.e, exact.lse[i], exact.scoreMag[i]), 'lse');
      }), { numRuns: RUNS });
    });
  });
}
