import type { Data, Var } from './autograd.js';
import { entropyLowerBound } from './attention-stats.js';
import type { AttentionStats } from './attention-stats.js';
import type { Transformer } from './transformer.js';

/**
 * Zhai et al. 2023 ("Stabilizing Transformer Training by Preventing Attention
 * Entropy Collapse"), Theorem 3.1, followed along a training run. Softmax is
 * shift-invariant, so a row's entropy depends on its centred logits; among
 * rows of n logits whose centred L2 norm is at most r, the least entropy is
 * that of the one-up row (one logit above the rest), whose spread is
 * β = r·√(n/(n − 1)):  H ≥ entropyLowerBound(r·√(n/(n − 1)), n).
 * Zhai bounds r through σ = ‖W_K W_Qᵀ‖₂·‖XXᵀ‖₂ (X the layer's input), since a
 * row's logits are s·X W_K W_Qᵀ xᵢ. With rotary positions each key carries its
 * own rotation, so the bound that holds here is, per row i,
 *   r ≤ s·‖W_Q‖₂‖W_K‖₂·‖xᵢ‖·(Σ_{j ≤ i} ‖xⱼ‖²)^½      (Cauchy–Schwarz per key),
 * and under QK-norm every logit is at most τ in size, so r ≤ τ·√n. A sink
 * logit b joins the row: r ≤ √(r² + b²).
 */
export interface HeadTrace {
  step: number;
  layer: number;
  head: number;
  /** The head's learnt attention parameter: QK-norm's temperature τ = e^(log τ), the sink's logit b; null under other rules. */
  learnt: number | null;
  /** Zhai's σ = ‖W_K W_Qᵀ‖₂ · ‖XXᵀ‖₂ (the largest over the batch's sequences). */
  sigma: number;
  /** The head's mean entropy over the step's rows (nats), as attentionStats measured it. */
  entropy: number;
  /** The mean over the same rows of the bound above, from the weights and inputs alone (nats). */
  entropyBound: number;
}

/** Every attention row of every traced step against the L2 form of the bound, from its own logits: a sanity check of the theorem and the code. */
export interface L2BoundCheck {
  rows: number;
  violations: number;
  /** The smallest H − bound over rows (nats). */
  minMargin: number;
}

/** The largest eigenvalue of a symmetric n×n matrix (row-major), by cyclic Jacobi rotations (exact to rounding, unlike power iteration). */
export function largestEigenvalue(matrix: ArrayLike<number>, n: number): number {
  const a = Float64Array.from(matrix);
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  let top = -Infinity;
  for (let i = 0; i < n; i++) top = Math.max(top, a[i * n + i]);
  return top;
}

/** Columns [h·d, (h + 1)·d) of a [width, heads·d] weight: head h's projection, [width, d]. */
function headColumns(w: Var, head: number, d: number): Float64Array {
  const [width, inner] = w.shape;
  const out = new Float64Array(width * d);
  for (let i = 0; i < width; i++) for (let c = 0; c < d; c++) out[i * d + c] = w.data[i * inner + head * d + c];
  return out;
}

/** Gram matrix AᵀA of a [rows, cols] matrix. */
function gram(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const g = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) g[i * cols + j] += a[r * cols + i] * a[r * cols + j];
  return g;
}

/** ‖W_Q W_Kᵀ‖₂ (= ‖W_K W_Qᵀ‖₂) from the two [width, d] projections: λmax(W_Q G_K W_Qᵀ) with G_K = W_KᵀW_K, a width×width symmetric matrix. */
function productNorm(wq: Float64Array, wk: Float64Array, width: number, d: number): number {
  const gk = gram(wk, width, d);
  const m = new Float64Array(width * width);
  const left = new Float64Array(width * d); // W_Q G_K
  for (let i = 0; i < width; i++) for (let c = 0; c < d; c++) for (let e = 0; e < d; e++) left[i * d + c] += wq[i * d + e] * gk[e * d + c];
  for (let i = 0; i < width; i++) for (let j = 0; j < width; j++) for (let c = 0; c < d; c++) m[i * width + j] += left[i * d + c] * wq[j * d + c];
  return Math.sqrt(Math.max(0, largestEigenvalue(m, width)));
}

/**
 * Follows each head of a model through training: installs hooks that keep each
 * layer's input X (the norm's output) and its q, k and scale from the training
 * forward itself (no second forward), then `record` computes the figures.
 */
export class HeadTracer {
  readonly traces: HeadTrace[] = [];
  readonly check: L2BoundCheck = { rows: 0, violations: 0, minMargin: Infinity };
  private readonly inputs: (Var | null)[];
  private readonly qk: ({ q: Var; k: Var; scale: number } | null)[];

  constructor(private readonly model: Transformer) {
    this.inputs = model.blocks.map(() => null);
    this.qk = model.blocks.map(() => null);
    model.blocks.forEach((block, layer) => {
      const norm = block.norm1;
      const forward = norm.forward.bind(norm);
      norm.forward = (x: Var): Var => {
        const y = forward(x);
        this.inputs[layer] = y;
        return y;
      };
      block.attn.onQueryKey = (q, k, scale) => {
        this.qk[layer] = { q, k, scale };
      };
    });
  }

  /** The figures of the forward just run: the L2 row check always; the per-head traces when `traceHeads`. */
  record(step: number, stats: readonly (AttentionStats | null)[], traceHeads: boolean): void {
    this.model.blocks.forEach((block, layer) => {
      const captured = this.qk[layer];
      const x = this.inputs[layer];
      const layerStats = stats[layer];
      if (captured === null || x === null || layerStats === null) return;
      const attn = block.attn;
      const { heads, headDim: d, rule } = attn.options;
      const sink = attn.sinkLogit !== null ? attn.sinkLogit.data : rule === 'softmax1' ? new Float64Array(heads) : null;
      this.checkRows(captured.q.data, captured.k.data, captured.q.shape, captured.scale, sink);
      if (!traceHeads) return;
      const [batch, length, width] = x.shape;
      const rowNorms = new Float64Array(batch * length);
      for (let r = 0; r < batch * length; r++) {
        let s2 = 0;
        for (let c = 0; c < width; c++) s2 += x.data[r * width + c] ** 2;
        rowNorms[r] = Math.sqrt(s2);
      }
      // ‖XXᵀ‖₂ per sequence: the largest eigenvalue of its length×length Gram matrix.
      let inputNorm = 0;
      for (let b = 0; b < batch; b++) {
        const g = new Float64Array(length * length);
        for (let i = 0; i < length; i++) for (let j = 0; j < length; j++) {
          let dot = 0;
          for (let c = 0; c < width; c++) dot += x.data[(b * length + i) * width + c] * x.data[(b * length + j) * width + c];
          g[i * length + j] = dot;
        }
        inputNorm = Math.max(inputNorm, largestEigenvalue(g, length));
      }
      for (let h = 0; h < heads; h++) {
        const wq = headColumns(attn.wq.weight, h, d);
        const wk = headColumns(attn.wk.weight, h, d);
        const tau = attn.logTau !== null ? Math.exp(attn.logTau.data[h]) : null;
        const b = sink === null ? null : sink[h];
        const qNorm = Math.sqrt(Math.max(0, largestEigenvalue(gram(wq, width, d), d)));
        const kNorm = Math.sqrt(Math.max(0, largestEigenvalue(gram(wk, width, d), d)));
        let boundSum = 0;
        for (let bi = 0; bi < batch; bi++) {
          let prefix = 0;
          for (let i = 0; i < length; i++) {
            const xi = rowNorms[bi * length + i];
            prefix += xi * xi;
            const keys = i + 1 + (b === null ? 0 : 1);
            if (keys < 2) continue;
            const logits = tau !== null ? tau * Math.sqrt(i + 1) : captured.scale * qNorm * kNorm * xi * Math.sqrt(prefix);
            const r = b === null ? logits : Math.hypot(logits, b);
            boundSum += entropyLowerBound(r * Math.sqrt(keys / (keys - 1)), keys);
          }
        }
        this.traces.push({
          step, layer, head: h, learnt: tau ?? b, sigma: productNorm(wq, wk, width, d) * inputNorm,
          entropy: layerStats.headEntropy[h], entropyBound: boundSum / (batch * length),
        });
      }
    });
  }

  /** Every causal row of q [B, H, T, D] · k: its entropy against the L2-form bound. */
  private checkRows(q: Data, k: Data, shape: readonly number[], scale: number, sink: ArrayLike<number> | null): void {
    const [b, h, t, d] = shape;
    const row = new Float64Array(t + 1);
    for (let bh = 0; bh < b * h; bh++) {
      const bias = sink === null ? null : sink[bh % h];
      for (let i = 0; i < t; i++) {
        let n = 0;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q[(bh * t + i) * d + c] * k[(bh * t + j) * d + c];
          row[n++] = scale * dot;
        }
        if (bias !== null) row[n++] = bias;
        if (n < 2) continue;
        let m = -Infinity;
        let mean = 0;
        for (let j = 0; j < n; j++) {
          m = Math.max(m, row[j]);
          mean += row[j] / n;
        }
        let z = 0;
        let weighted = 0;
        let r2 = 0;
        for (let j = 0; j < n; j++) {
          const e = Math.exp(row[j] - m);
          z += e;
          weighted += e * (row[j] - m);
          r2 += (row[j] - mean) ** 2;
        }
        const entropy = Math.log(z) - weighted / z;
        const beta = Math.sqrt(r2) * Math.sqrt(n / (n - 1));
        const margin = entropy - entropyLowerBound(beta, n);
        this.check.rows++;
        if (margin < this.check.minMargin) this.check.minMargin = margin;
        // Rounding of H allows a few ulps per term, as attentionStats allows.
        if (margin < -1e-12 * n * (1 + beta)) this.check.violations++;
      }
    }
  }
}
