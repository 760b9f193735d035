import { median } from '../lab/stats.js';
import { softmaxRowStats } from '../softmax/index.js';
import type { TensorData } from './stored.js';
import type { QkView } from './view.js';

/** The figures a what-if scale is compared on. */
export interface ScaleFigures {
  logitStd: number;
  entropyRatioMean: number;
  maxProbMean: number;
  saturatedShare: number;
}

/** One head's figures: the JSON's `heads[]` element (its field names are a contract). */
export interface HeadFigures extends ScaleFigures {
  layer: string;
  head: number;
  queries: number;
  keys: number;
  headDim: number;
  logitMax: number;
  jacobianNormMedian: number;
  firstKeyMass: number;
  /** The key position with the largest mean weight over the rows (a sink need not be key 0), and that weight. */
  topKey: { position: number; mass: number };
  fp16: { scoreMaxAbs: number; overflowShare: number };
  whatIf: { rsqrt: ScaleFigures; inverse: ScaleFigures; qkNorm: ScaleFigures; softcap50: ScaleFigures };
}

export type HeadOutcome =
  | { kind: 'figures'; figures: HeadFigures; /** Mean of 1/n over the rows: key 0's weight if every row were uniform. */ uniformFirstKeyMass: number }
  | { kind: 'non-finite'; layer: string; head: number; qCount: number; kCount: number };

/** A row counts as saturated when its largest weight exceeds this. */
export const SATURATED = 0.99;
/** The largest finite float16: |q·k| beyond it is ±Infinity in a float16 matmul that scales afterwards. */
export const FLOAT16_MAX = 65504;
export const SOFTCAP = 50;
/** Positions of the two what-ifs that change more than the scale, in analyzeHead's list of variants. */
const QK_NORM = 3;
const SOFTCAP_50 = 4;

/**
 * Population moments, merged a row at a time (Chan et al.): each row's mean
 * and squared deviations by two passes, so nothing cancels when the mean is
 * large against the spread, and no division per value.
 */
class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  addRow(x: Float64Array, count: number): void {
    let sum = 0;
    for (let j = 0; j < count; j++) sum += x[j];
    const rowMean = sum / count;
    let rowM2 = 0;
    for (let j = 0; j < count; j++) rowM2 += (x[j] - rowMean) ** 2;
    const n = this.n + count;
    const delta = rowMean - this.mean;
    this.mean += (delta * count) / n;
    this.m2 += rowM2 + (delta * delta * this.n * count) / n;
    this.n = n;
  }
  std(): number {
    return this.n === 0 ? NaN : Math.sqrt(this.m2 / this.n);
  }
}

/** Per-scale running sums: logit moments over all unmasked scores, row figures over rows with ≥ 2 keys. */
class ScaleTally {
  readonly logits = new Moments();
  rows = 0;
  entropyRatio = 0;
  maxProb = 0;
  saturated = 0;
  figures(): ScaleFigures {
    const r = this.rows;
    // A row with no max p (qkNorm of an all-zero vector: 0/0) leaves the share undefined too, not 0 (NaN is null in the JSON).
    const saturatedShare = Number.isNaN(this.maxProb) ? NaN : this.saturated / r;
    return { logitStd: this.logits.std(), entropyRatioMean: this.entropyRatio / r, maxProbMean: this.maxProb / r, saturatedShare };
  }
}

/**
 * The figures of query head `head` of one layer, pooled over the batch. Scores
 * are s·q_i·k_j over the unmasked keys (causal: j ≤ i + S − L). Under each
 * scale the softmax row p gives H(p)/ln n, max p, whether max p > 0.99, and for
 * the scale in use also ‖diag(p) − ppᵀ‖_F and p_0; rows with one key are left
 * out of these (their softmax is 1 whatever the scale). The what-ifs are
 * rsqrt (1/√d), inverse (1/d), qkNorm (q/rms(q) · k/rms(k) / √d, no epsilon)
 * and softcap50 (50·tanh(s·q·k / 50)). With `model`, the figures in use come
 * from the logits the model computed and each row reads only the keys it did
 * not mask (see MASK_GAP); `causal` is then the model's business. With
 * `lengths`, batch element b's keys j ≥ lengths[b] are padding, and so are its
 * queries at positions i + S − L ≥ lengths[b]: both are left out.
 */
export function analyzeHead(layer: string, q: QkView, k: QkView, head: number, scale: number, causal: boolean, model?: ModelLogits, lengths?: ArrayLike<number>): HeadOutcome {
  const kvHead = Math.floor(head / (q.heads / k.heads));
  const qCount = countNonFinite(q, head);
  const kCount = countNonFinite(k, kvHead);
  if (qCount > 0 || kCount > 0) return { kind: 'non-finite', layer, head, qCount, kCount };

  // q: [B, Hq, L, D] and k: [B, Hkv, S, D], read through their strides.
  const { batch: B, length: L, dim: D } = q;
  const S = k.length;
  const qRms = rowRms(q, head);
  const kRms = rowRms(k, kvHead);
  // The logits' scale per variant: in use, rsqrt, inverse, qkNorm (of the normalised vectors), softcap50 (capped after it).
  const scales = [scale, 1 / Math.sqrt(D), 1 / D, 1 / Math.sqrt(D), scale];
  const tallies = scales.map(() => new ScaleTally());
  const jacobianNorms = new Float64Array(B * L);
  let logitMax = -Infinity;
  let firstKeyMass = 0;
  let uniformFirstKeyMass = 0;
  let scoreMaxAbs = 0;
  let overflow = 0;
  let pairs = 0;
  const dots = new Float64Array(S);
  const logits = new Float64Array(S);
  // The keys a row reads (ascending) and, from a model, the logits it gave them.
  const keys = new Int32Array(S);
  const given = new Float64Array(S);
  const keyMass = new Float64Array(S);

  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      // With lengths, batch element b's tokens are its first lengths[b]; a query at a later position (bottom-right) is padding.
      const valid = lengths === undefined ? S : lengths[b];
      if (i + S - L >= valid) continue;
      const n = model !== undefined ? modelRowKeys(model.data, ((b * q.heads + head) * L + i) * S, S, keys, given) : Math.min(valid, causal ? i + S - L + 1 : S);
      if (model === undefined) for (let j = 0; j < n; j++) keys[j] = j;
      if (n === 0) continue;
      const qBase = b * q.strideB + head * q.strideH + i * q.strideL;
      for (let j = 0; j < n; j++) {
        const kBase = b * k.strideB + kvHead * k.strideH + keys[j] * k.strideL;
        let dot = 0;
        for (let e = 0; e < D; e++) dot += q.data[qBase + e] * k.data[kBase + e];
        dots[j] = dot;
        const a = Math.abs(dot);
        if (a > scoreMaxAbs) scoreMaxAbs = a;
        if (a > FLOAT16_MAX) overflow++;
      }
      pairs += n;
      for (let v = 0; v < scales.length; v++) {
        const t = tallies[v];
        for (let j = 0; j < n; j++) {
          let x = v === 0 && model !== undefined ? given[j] : scales[v] * dots[j];
          if (v === QK_NORM) x /= qRms[b * L + i] * kRms[b * S + keys[j]];
          else if (v === SOFTCAP_50) x = SOFTCAP * Math.tanh(x / SOFTCAP);
          logits[j] = x;
          if (v === 0 && x > logitMax) logitMax = x;
        }
        t.logits.addRow(logits, n);
        if (n < 2) continue;
        const { maxProb, entropy, jacobianNorm, lse } = softmaxRowStats(logits, { length: n });
        if (v === 0) {
          // The scale in use also gives the Jacobian norm, p₀ and each key's mass.
          jacobianNorms[t.rows] = jacobianNorm;
          for (let j = 0; j < n; j++) keyMass[keys[j]] += Math.exp(logits[j] - lse);
          if (keys[0] === 0) {
            firstKeyMass += Math.exp(logits[0] - lse);
            uniformFirstKeyMass += 1 / n;
          }
        }
        t.entropyRatio += entropy / Math.log(n);
        t.maxProb += maxProb;
        if (maxProb > SATURATED) t.saturated++;
        t.rows++;
      }
    }
  }
  const rows = tallies[0].rows;
  let top = 0;
  for (let j = 1; j < S; j++) if (keyMass[j] > keyMass[top]) top = j;
  const [inUse, rsqrt, inverse, qkNorm, softcap50] = tallies.map((t) => t.figures());
  return {
    kind: 'figures',
    uniformFirstKeyMass: uniformFirstKeyMass / rows,
    figures: {
      layer, head, queries: L, keys: S, headDim: D,
      logitStd: inUse.logitStd, logitMax,
      entropyRatioMean: inUse.entropyRatioMean, maxProbMean: inUse.maxProbMean, saturatedShare: inUse.saturatedShare,
      jacobianNormMedian: rows === 0 ? NaN : median(jacobianNorms.subarray(0, rows)),
      firstKeyMass: firstKeyMass / rows,
      topKey: { position: top, mass: keyMass[top] / rows },
      fp16: { scoreMaxAbs, overflowShare: overflow / pairs },
      whatIf: { rsqrt, inverse, qkNorm, softcap50 },
    },
  };
}

/**
 * The logits a model fed its softmax, [batch, heads, L, S] row-major with
 * `heads` = Q's heads: with them the figures in use are the model's own, and
 * the keys it masked are left out of every row.
 */
export interface ModelLogits {
  data: TensorData;
}

/**
 * A key counts as masked where the model's logit is −∞, at or below −1e30 (a
 * dtype's lowest value used as the fill, as Hugging Face does), or more than
 * MASK_GAP below the row's largest logit: its softmax weight is then below
 * e^−1000, exactly 0 in float32 and float64 alike. Additive −1e4 and −1e9
 * masks, causal or padding, fall in the last case.
 */
export const MASK_GAP = 1000;
const MASK_FILL = -1e30;

/** Fills keys/given with the unmasked keys of the row at data[base .. base + S) and their logits; returns their count. */
export function modelRowKeys(data: TensorData, base: number, S: number, keys: Int32Array, given: Float64Array): number {
  let max = -Infinity;
  for (let j = 0; j < S; j++) if (data[base + j] > max) max = data[base + j];
  let n = 0;
  for (let j = 0; j < S; j++) {
    const x = data[base + j];
    if (!(x > MASK_FILL) || x < max - MASK_GAP) continue;
    keys[n] = j;
    given[n++] = x;
  }
  return n;
}

function countNonFinite(x: QkView, head: number): number {
  let count = 0;
  for (let b = 0; b < x.batch; b++) {
    for (let l = 0; l < x.length; l++) {
      const base = b * x.strideB + head * x.strideH + l * x.strideL;
      for (let e = 0; e < x.dim; e++) if (!Number.isFinite(x.data[base + e])) count++;
    }
  }
  return count;
}

/** rms over the head dim of every vector of one head: [batch · length]. */
function rowRms(x: QkView, head: number): Float64Array {
  const out = new Float64Array(x.batch * x.length);
  for (let b = 0; b < x.batch; b++) {
    for (let l = 0; l < x.length; l++) {
      const base = b * x.strideB + head * x.strideH + l * x.strideL;
      let s = 0;
      for (let e = 0; e < x.dim; e++) s += x.data[base + e] ** 2;
      out[b * x.length + l] = Math.sqrt(s / x.dim);
    }
  }
  return out;
}
