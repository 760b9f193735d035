import type { BenchInputs } from './contract.js';
import type { Direction } from './shapes.js';

/**
 * A benchmark that times a wrong answer is worthless, so every case checks
 * the implementation's result on sampled rows against the float64 formula
 * (a few rows of every head cost O(rows · N · d), nothing next to the run):
 *
 *   oᵢ  = Σⱼ Pᵢⱼ vⱼ,   Pᵢⱼ = softmax_j(qᵢ·kⱼ / √d)  (j <= i if causal)
 *   dqᵢ = Σⱼ Pᵢⱼ (dOᵢ·vⱼ − Σₘ Pᵢₘ dOᵢ·vₘ) kⱼ / √d
 *
 * Returns the largest absolute error over the sampled elements.
 */
export function sampledMaxError(inputs: BenchInputs, direction: Direction, result: Float32Array): number {
  const { heads, n, d, causal } = inputs.shape;
  const { q, k, v, dOut } = inputs;
  const scale = 1 / Math.sqrt(d);
  const rows = [...new Set([0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 2, n - 1].filter((i) => i >= 0 && i < n))];
  const probs = new Float64Array(n);
  const dProbs = new Float64Array(n);
  let worst = 0;
  for (let h = 0; h < heads; h++) {
    const base = h * n * d;
    for (const i of rows) {
      const visible = causal ? i + 1 : n;
      let max = -Infinity;
      for (let j = 0; j < visible; j++) {
        let dot = 0;
        for (let e = 0; e < d; e++) dot += q[base + i * d + e] * k[base + j * d + e];
        probs[j] = dot * scale;
        max = Math.max(max, probs[j]);
      }
      let sum = 0;
      for (let j = 0; j < visible; j++) sum += (probs[j] = Math.exp(probs[j] - max));
      for (let j = 0; j < visible; j++) probs[j] /= sum;
      const exact = new Float64Array(d);
      if (direction === 'forward') {
        for (let j = 0; j < visible; j++) for (let e = 0; e < d; e++) exact[e] += probs[j] * v[base + j * d + e];
      } else {
        let rowDot = 0;
        for (let j = 0; j < visible; j++) {
          let dp = 0;
          for (let e = 0; e < d; e++) dp += dOut[base + i * d + e] * v[base + j * d + e];
          dProbs[j] = dp;
          rowDot += probs[j] * dp;
        }
        for (let j = 0; j < visible; j++) {
          const ds = probs[j] * (dProbs[j] - rowDot) * scale;
          for (let e = 0; e < d; e++) exact[e] += ds * k[base + j * d + e];
        }
      }
      for (let e = 0; e < d; e++) {
        const err = Math.abs(result[base + i * d + e] - exact[e]);
        // NaN must not hide: it counts as an infinite error.
        worst = Number.isNaN(err) ? Infinity : Math.max(worst, err);
      }
    }
  }
  return worst;
}
