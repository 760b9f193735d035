import { Rng, Tensor, randn, tensor, type FloatDType } from '../../src/tensor/index.js';

/**
 * The attention configurations every backend is checked on: each mask kind
 * and broadcast shape, causal with L = S, L < S and L > S (whose first rows
 * see no key at all), GQA and MQA, custom scales, Ev ≠ E, rank 2 and rank 5,
 * dropout, and empty sequences. Small sizes: the float64 test reference is
 * plain loops, and every case runs on every backend in every dtype.
 */
export interface AttentionCase {
  name: string;
  q: number[];
  k: number[];
  v: number[];
  /** An additive mask is float64 unless `dtype` says otherwise (backends read both storage classes). */
  mask?: { kind: 'bool' | 'additive'; shape: number[]; fullyMaskedRow?: boolean; dtype?: 'float32' | 'float64' };
  isCausal?: boolean;
  scale?: number;
  enableGqa?: boolean;
  dropoutP?: number;
  seed?: number;
  softcap?: number;
  alibiSlopes?: number[];
  window?: [number, number];
  keyLengths?: number[];
  sinks?: number[];
}

export const CASES: AttentionCase[] = [
  { name: 'plain 4-D', q: [2, 3, 5, 8], k: [2, 3, 7, 8], v: [2, 3, 7, 8] },
  { name: 'Ev != E', q: [2, 2, 4, 6], k: [2, 2, 5, 6], v: [2, 2, 5, 3] },
  { name: 'rank 2 (no heads)', q: [5, 4], k: [6, 4], v: [6, 3] },
  { name: 'rank 3', q: [3, 4, 5], k: [3, 6, 5], v: [3, 6, 2] },
  { name: 'rank 5', q: [2, 2, 2, 3, 4], k: [2, 2, 2, 5, 4], v: [2, 2, 2, 5, 4] },
  { name: 'bool mask [L,S]', q: [2, 2, 5, 4], k: [2, 2, 7, 4], v: [2, 2, 7, 4], mask: { kind: 'bool', shape: [5, 7] } },
  { name: 'additive mask [1,1,L,S] with -Infinity', q: [2, 2, 5, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 4], mask: { kind: 'additive', shape: [1, 1, 5, 6] } },
  { name: 'bool padding mask [B,1,1,S]', q: [3, 2, 4, 4], k: [3, 2, 6, 4], v: [3, 2, 6, 5], mask: { kind: 'bool', shape: [3, 1, 1, 6] } },
  { name: 'float32 additive mask [B,H,L,S]', q: [2, 2, 3, 4], k: [2, 2, 5, 4], v: [2, 2, 5, 4], mask: { kind: 'additive', shape: [2, 2, 3, 5], dtype: 'float32' } },
  { name: 'additive mask [S] on rank 2', q: [4, 3], k: [5, 3], v: [5, 2], mask: { kind: 'additive', shape: [5] } },
  { name: 'bool mask [H,1,S] on rank 5', q: [2, 1, 3, 4, 4], k: [2, 1, 3, 5, 4], v: [2, 1, 3, 5, 4], mask: { kind: 'bool', shape: [3, 1, 5] } },
  { name: 'bool mask with fully masked rows', q: [1, 2, 5, 4], k: [1, 2, 6, 4], v: [1, 2, 6, 4], mask: { kind: 'bool', shape: [1, 2, 5, 6], fullyMaskedRow: true } },
  { name: 'additive mask with fully masked rows', q: [1, 2, 5, 4], k: [1, 2, 6, 4], v: [1, 2, 6, 4], mask: { kind: 'additive', shape: [5, 6], fullyMaskedRow: true } },
  { name: 'causal L == S', q: [1, 2, 6, 4], k: [1, 2, 6, 4], v: [1, 2, 6, 4], isCausal: true },
  { name: 'causal L < S', q: [1, 2, 4, 4], k: [1, 2, 7, 4], v: [1, 2, 7, 3], isCausal: true },
  { name: 'causal L > S (first rows see nothing)', q: [1, 2, 7, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 3], isCausal: true },
  { name: 'causal with a bool padding mask', q: [2, 2, 5, 4], k: [2, 2, 5, 4], v: [2, 2, 5, 4], isCausal: true, mask: { kind: 'bool', shape: [2, 1, 1, 5] } },
  { name: 'GQA (Hq 6, Hkv 2)', q: [2, 6, 4, 4], k: [2, 2, 5, 4], v: [2, 2, 5, 4], enableGqa: true },
  { name: 'MQA (Hkv 1) causal additive mask [Hq,L,S]', q: [1, 4, 5, 4], k: [1, 1, 5, 4], v: [1, 1, 5, 3], enableGqa: true, isCausal: true, mask: { kind: 'additive', shape: [4, 5, 5] } },
  { name: 'custom scale 0.9', q: [1, 2, 4, 6], k: [1, 2, 5, 6], v: [1, 2, 5, 6], scale: 0.9 },
  { name: 'negative scale', q: [1, 2, 4, 6], k: [1, 2, 5, 6], v: [1, 2, 5, 6], scale: -0.3 },
  { name: 'dropout 0.3', q: [2, 2, 5, 4], k: [2, 2, 6, 4], v: [2, 2, 6, 4], dropoutP: 0.3, seed: 7 },
  { name: 'dropout with GQA, causal and a mask', q: [1, 4, 5, 4], k: [1, 2, 6, 4], v: [1, 2, 6, 3], dropoutP: 0.5, seed: 12345, enableGqa: true, isCausal: true, mask: { kind: 'additive', shape: [1, 1, 5, 6] } },
  // Longer sequences, so that tiled kernels cross block boundaries (and partial blocks) in L and S.
  { name: 'long: GQA, causal L > S', q: [1, 4, 70, 8], k: [1, 2, 45, 8], v: [1, 2, 45, 4], enableGqa: true, isCausal: true },
  { name: 'long: L < S, bool mask, causal, dropout', q: [1, 1, 40, 8], k: [1, 1, 133, 8], v: [1, 1, 133, 5], isCausal: true, dropoutP: 0.2, seed: 3, mask: { kind: 'bool', shape: [40, 133] } },
  // The model options (softcap, ALiBi, window, keyLengths, sinks), alone and together, with the alignment off = S − L they depend on.
  { name: 'softcap 0.8 (below the scores)', q: [2, 2, 5, 8], k: [2, 2, 7, 8], v: [2, 2, 7, 4], softcap: 0.8, scale: 0.7 },
  { name: 'ALiBi, causal L < S', q: [1, 4, 4, 4], k: [1, 4, 7, 4], v: [1, 4, 7, 3], alibiSlopes: [0.5, 0.25, 0.125, 0.0625], isCausal: true },
  { name: 'window [2, 1] L == S', q: [1, 2, 6, 4], k: [1, 2, 6, 4], v: [1, 2, 6, 4], window: [2, 1] },
  { name: 'window [3, 0] causal L < S', q: [1, 2, 4, 4], k: [1, 2, 9, 4], v: [1, 2, 9, 3], window: [3, 0], isCausal: true },
  { name: 'window [-1, 1] L > S (first rows see nothing)', q: [1, 2, 7, 4], k: [1, 2, 4, 4], v: [1, 2, 4, 3], window: [-1, 1], isCausal: true },
  { name: 'keyLengths (one element empty), causal', q: [3, 2, 4, 4], k: [3, 2, 6, 4], v: [3, 2, 6, 5], keyLengths: [6, 3, 0], isCausal: true },
  { name: 'sinks', q: [2, 3, 5, 4], k: [2, 3, 6, 4], v: [2, 3, 6, 4], sinks: [0, -1, 2] },
  { name: 'sinks with fully masked rows', q: [1, 2, 5, 4], k: [1, 2, 6, 4], v: [1, 2, 6, 4], sinks: [0.5, -0.5], mask: { kind: 'bool', shape: [1, 2, 5, 6], fullyMaskedRow: true } },
  { name: 'rank 5: keyLengths per flat batch element, ALiBi', q: [2, 2, 2, 3, 4], k: [2, 2, 2, 5, 4], v: [2, 2, 2, 5, 4], keyLengths: [5, 2, 4, 1], alibiSlopes: [0.3, 0.7], isCausal: true },
  {
    name: 'all options: softcap, ALiBi, window, keyLengths, sinks, GQA, mask, dropout',
    q: [2, 4, 5, 4], k: [2, 2, 7, 4], v: [2, 2, 7, 3], enableGqa: true, isCausal: true, softcap: 1.5,
    alibiSlopes: [0.5, 0.25, 0.125, 0.0625], window: [3, 1], keyLengths: [7, 5], sinks: [0.3, -1, 1, 0],
    dropoutP: 0.2, seed: 9, mask: { kind: 'additive', shape: [1, 1, 5, 7] },
  },
  {
    name: 'long: window and keyLengths across blocks, sinks, softcap',
    q: [2, 2, 70, 8], k: [2, 2, 150, 8], v: [2, 2, 150, 4], isCausal: true, window: [40, 10], keyLengths: [150, 97],
    sinks: [0.5, -0.5], softcap: 3,
  },
  // Decoding: L = 1…16 query rows over long keys, across the key chunks (256+ keys) and 64-key blocks of a
  // decode kernel, with every option, odd E (SIMD tails), GQA groups sharing one pass over K and V.
  { name: 'decode L = 1, S 1300, causal', q: [1, 4, 1, 16], k: [1, 4, 1300, 16], v: [1, 4, 1300, 12], isCausal: true },
  {
    name: 'decode L = 3, GQA, keyLengths, window, ALiBi, sinks, softcap', q: [2, 4, 3, 12], k: [2, 2, 900, 12], v: [2, 2, 900, 8],
    enableGqa: true, isCausal: true, keyLengths: [900, 517], window: [600, 0], alibiSlopes: [0.01, 0.02, 0.03, 0.04],
    sinks: [0.3, -1, 1, 0], softcap: 4,
  },
  { name: 'decode L = 16, MQA, bool mask [B,1,L,S], E 13', q: [1, 3, 16, 13], k: [1, 1, 700, 13], v: [1, 1, 700, 5], enableGqa: true, mask: { kind: 'bool', shape: [1, 1, 16, 700] } },
  { name: 'decode L = 8, dropout, causal', q: [1, 2, 8, 8], k: [1, 2, 600, 8], v: [1, 2, 600, 8], isCausal: true, dropoutP: 0.25, seed: 5 },
  { name: 'decode L = 1, keyLengths far below S, additive mask [S]', q: [2, 2, 1, 8], k: [2, 2, 2000, 8], v: [2, 2, 2000, 6], keyLengths: [1500, 3], mask: { kind: 'additive', shape: [2000] } },
  { name: 'S = 0 (no keys)', q: [1, 2, 3, 4], k: [1, 2, 0, 4], v: [1, 2, 0, 4] },
  { name: 'L = 0 (no queries)', q: [1, 2, 0, 4], k: [1, 2, 3, 4], v: [1, 2, 3, 4] },
];

export interface AttentionInputs {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  gradOutput: Tensor;
  attnMask?: Tensor;
}

/** The options a case passes to scaledDotProductAttention (without impl). */
export function caseOptions(c: AttentionCase, attnMask?: Tensor) {
  return {
    ...(attnMask ? { attnMask } : {}),
    ...(c.isCausal ? { isCausal: true } : {}),
    ...(c.scale !== undefined ? { scale: c.scale } : {}),
    ...(c.enableGqa ? { enableGqa: true } : {}),
    ...(c.dropoutP !== undefined ? { dropoutP: c.dropoutP, seed: c.seed ?? 0 } : {}),
    ...modelOptions(c),
  };
}

/** The model options of a case (softcap, alibiSlopes, window, keyLengths, sinks), as both the library and the test reference take them. */
export function modelOptions(c: AttentionCase) {
  return {
    ...(c.softcap !== undefined ? { softcap: c.softcap } : {}),
    ...(c.alibiSlopes ? { alibiSlopes: c.alibiSlopes } : {}),
    ...(c.window ? { window: c.window } : {}),
    ...(c.keyLengths ? { keyLengths: c.keyLengths } : {}),
    ...(c.sinks ? { sinks: c.sinks } : {}),
  };
}

/**
 * A mask for a case: bool entries false with probability 1/4, additive entries
 * uniform in [−3, 3] and −∞ with probability 1/6; with fullyMaskedRow, the
 * second row of the mask (index 1 along L) masks every key.
 */
function makeMask(spec: NonNullable<AttentionCase['mask']>, seed: number): Tensor {
  const rng = new Rng(seed);
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, () => {
    if (spec.kind === 'bool') return rng.uniform() < 0.25 ? 0 : 1;
    return rng.uniform() < 1 / 6 ? -Infinity : 6 * rng.uniform() - 3;
  });
  if (spec.fullyMaskedRow) {
    const s = spec.shape[spec.shape.length - 1];
    const l = spec.shape[spec.shape.length - 2];
    for (let start = 0; start < n; start += l * s) {
      for (let j = 0; j < s; j++) values[start + s + j] = spec.kind === 'bool' ? 0 : -Infinity;
    }
  }
  return tensor(values, spec.shape, { dtype: spec.kind === 'bool' ? 'bool' : spec.dtype ?? 'float64' });
}

/** Seeded inputs of a case in a dtype: q, k, v and the output gradient are N(0, 1) rounded to the dtype. */
export function caseInputs(c: AttentionCase, dtype: FloatDType, seed = 1): AttentionInputs {
  const outShape = [...c.q.slice(0, -1), c.v[c.v.length - 1]];
  return {
    q: randn(c.q, { seed: seed * 4, dtype }),
    k: randn(c.k, { seed: seed * 4 + 1, dtype }),
    v: randn(c.v, { seed: seed * 4 + 2, dtype }),
    gradOutput: randn(outShape, { seed: seed * 4 + 3, dtype }),
    ...(c.mask ? { attnMask: makeMask(c.mask, seed * 4 + 5) } : {}),
  };
}
