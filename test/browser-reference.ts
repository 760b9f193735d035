import { randn, softmax, tensor, type FloatDType } from '../src/index.js';

/*
 * Independent reference computations for the explainer page's figures: float64,
 * the plain formulas, none of the page's own code. Shared by the browser tests
 * and the Node tests of the page's modules.
 */

export interface ScaleSettings { dk: number; n: number; a: number; std: number; seed: number }

/**
 * Section 1's figures for query 1 as the page documents its recipe: q = the
 * first d_k components of row 0 of randn([*, 4096], seed), kⱼ those of row j of
 * randn([n, 4096], seed + 1), logits q·kⱼ·dk^-a, then expectedRowFigures.
 */
export function expectedScaleFigures({ dk, n, a, std, seed }: ScaleSettings): { entropy: number; maxProb: number; jacobianNorm: number } {
  const width = 4096;
  const q = randn([1, width], { seed, std, dtype: 'float64' }).data;
  const k = randn([n, width], { seed: seed + 1, std, dtype: 'float64' }).data;
  const z = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let dot = 0;
    for (let i = 0; i < dk; i++) dot += q[i] * k[j * width + i];
    z[j] = dot * dk ** -a;
  }
  return expectedRowFigures(z);
}

/**
 * Entropy, max probability and ‖diag(p) − ppᵀ‖_F of p = softmax(z), z a row of
 * float64 logits. Entropy from the logits: ln pⱼ = (zⱼ − m) − log1p(Σ_{k≠argmax} exp(zₖ − m)),
 * so a saturated row keeps its digits. The Jacobian as the explicit n × n matrix,
 * with 1 − pᵢ written as Σ_{j≠i} pⱼ.
 */
export function expectedRowFigures(z: Float64Array): { entropy: number; maxProb: number; jacobianNorm: number } {
  const n = z.length;
  const p = softmax(tensor(z, [n], { dtype: 'float64' })).data;
  const m = Math.max(...z);
  const argmax = z.indexOf(m);
  let tail = 0;
  for (let j = 0; j < n; j++) if (j !== argmax) tail += Math.exp(z[j] - m);
  // ln pⱼ = (zⱼ − m) − ln(1 + tail): adding m to the log first would round away the digits of a saturated row.
  const logTail = Math.log1p(tail);
  let entropy = 0;
  for (let j = 0; j < n; j++) entropy -= p[j] * (z[j] - m - logTail);
  let frobenius2 = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let entry: number;
      if (i === j) {
        let others = 0;
        for (let t = 0; t < n; t++) if (t !== i) others += p[t];
        entry = p[i] * others;
      } else {
        entry = -p[i] * p[j];
      }
      frobenius2 += entry * entry;
    }
  }
  return { entropy, maxProb: Math.max(...p), jacobianNorm: Math.sqrt(frobenius2) };
}

/**
 * The largest value of a dtype at or below x and the smallest above it, found
 * by bisection over the bit patterns of positive numbers (which order like
 * the values): independent of the library's rounding code.
 */
export function dtypeNeighbours(dtype: FloatDType, x: number): { below: number; above: number } {
  const decode: Record<FloatDType, (bits: bigint) => number> = {
    float64: (bits) => new Float64Array(new BigUint64Array([bits]).buffer)[0],
    float32: (bits) => new Float32Array(new Uint32Array([Number(bits)]).buffer)[0],
    bfloat16: (bits) => new Float32Array(new Uint32Array([Number(bits) << 16]).buffer)[0],
    float16: (bits) => {
      const e = Number(bits) >> 10;
      const f = Number(bits) & 0x3ff;
      return e === 0 ? f * 2 ** -24 : (1 + f / 1024) * 2 ** (e - 15);
    },
  };
  const infinityBits: Record<FloatDType, bigint> = { float64: 0x7ff0000000000000n, float32: 0x7f800000n, bfloat16: 0x7f80n, float16: 0x7c00n };
  let lo = 0n; // value(lo) <= x
  let hi = infinityBits[dtype]; // value(hi) > x
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (decode[dtype](mid) <= x) lo = mid;
    else hi = mid;
  }
  return { below: decode[dtype](lo), above: decode[dtype](hi) };
}

export function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), Number.MIN_VALUE);
}
