/**
 * The plain-JS baseline: attention as it is usually first written, one head at
 * a time with the whole N × N score matrix in a Float32Array:
 *
 *   S = Q Kᵀ · scale (−∞ above the diagonal if causal),  P = softmax(S),  O = P V
 *   backward: dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(P ⊙ dP)),
 *             dQ = dS K · scale,  dK = dSᵀ Q · scale
 *
 * Loops are in the cache-friendly i-k-j order but not register-blocked or tiled.
 * q, k, v, dO: [heads, n, d] float32.
 */

export interface NaiveProblem {
  heads: number;
  n: number;
  d: number;
  causal: boolean;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/** P for one head into `probs` (n × n). */
function probabilities(p: NaiveProblem, h: number, probs: Float32Array): void {
  const { n, d, q, k, causal } = p;
  const scale = 1 / Math.sqrt(d);
  const base = h * n * d;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    const last = causal ? i : n - 1;
    let max = -Infinity;
    for (let j = 0; j <= last; j++) {
      let dot = 0;
      for (let e = 0; e < d; e++) dot += q[base + i * d + e] * k[base + j * d + e];
      const s = dot * scale;
      probs[row + j] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let j = 0; j <= last; j++) {
      const w = Math.exp(probs[row + j] - max);
      probs[row + j] = w;
      sum += w;
    }
    for (let j = 0; j <= last; j++) probs[row + j] /= sum;
    for (let j = last + 1; j < n; j++) probs[row + j] = 0;
  }
}

export function naiveForward(p: NaiveProblem): Float32Array {
  const { heads, n, d, v } = p;
  const out = new Float32Array(heads * n * d);
  const probs = new Float32Array(n * n);
  for (let h = 0; h < heads; h++) {
    probabilities(p, h, probs);
    const base = h * n * d;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const w = probs[i * n + j];
        if (w === 0) continue;
        for (let e = 0; e < d; e++) out[base + i * d + e] += w * v[base + j * d + e];
      }
    }
  }
  return out;
}

export function naiveBackward(p: NaiveProblem, dOut: Float32Array): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const { heads, n, d, q, k, v } = p;
  const scale = 1 / Math.sqrt(d);
  const dq = new Float32Array(heads * n * d);
  const dk = new Float32Array(heads * n * d);
  const dv = new Float32Array(heads * n * d);
  const probs = new Float32Array(n * n);
  const dProbs = new Float32Array(n * n);
  for (let h = 0; h < heads; h++) {
    probabilities(p, h, probs);
    const base = h * n * d;
    for (let i = 0; i < n; i++) {
      let rowDot = 0;
      for (let j = 0; j < n; j++) {
        const w = probs[i * n + j];
        let dp = 0;
        for (let e = 0; e < d; e++) {
          const g = dOut[base + i * d + e];
          dv[base + j * d + e] += w * g;
          dp += g * v[base + j * d + e];
        }
        dProbs[i * n + j] = dp;
        rowDot += w * dp;
      }
      for (let j = 0; j < n; j++) dProbs[i * n + j] = probs[i * n + j] * (dProbs[i * n + j] - rowDot) * scale;
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const ds = dProbs[i * n + j];
        if (ds === 0) continue;
        for (let e = 0; e < d; e++) {
          dq[base + i * d + e] += ds * k[base + j * d + e];
          dk[base + j * d + e] += ds * q[base + i * d + e];
        }
      }
    }
  }
  return { dq, dk, dv };
}
