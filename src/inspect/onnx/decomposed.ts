import { ScaledotError } from '../../tensor/index.js';
import { modelRowKeys } from '../figures.js';
import type { QkView } from '../view.js';
import type { OnnxLayerSummary, ScaleFactorAt } from './summary.js';
import { permuted } from './einsum.js';
import type { AttentionSite, FactorSide } from './pattern.js';

/** A tensor the runtime gave back (or a fed input), as floats. */
export type Captured = { dims: number[]; data: Float32Array | Float64Array; type: string };

export interface ResolvedSite {
  q: QkView;
  k: QkView;
  logits: Float32Array | Float64Array;
  probs: Float32Array | Float64Array;
  qName: string;
  kName: string;
  qDims: number[];
  kDims: number[];
  qType: string;
  kType: string;
  scale: number;
  /** Product of the factors before the Tanh (the whole scale without a soft-cap). */
  inner: number;
  softcap: number | null;
  factors: ScaleFactorAt[];
}

/**
 * The site's q, kᵀ, logits and probabilities as [batch, heads, ·, ·] views,
 * with its scale's factors read (a constant of the graph, or at run time the
 * one-element operand of the Mul/Div). q and k are the MatMul's operands
 * divided by the factors found on their side: the raw q·k, before any scale.
 * Rank-3 [batch·heads, ·, ·] operands (BART's bmm) are split into batch and
 * heads by the logits' shape, or by the model's first input's batch.
 */
export function resolveSite(site: AttentionSite, tensor: (name: string) => Captured | null, batchHint: number | undefined, what: string): ResolvedSite {
  const need = (name: string): Captured => {
    const t = tensor(name);
    if (t === null) throw new ScaledotError('E_ARG', `${what}: tensor ${name} did not come back from the runtime as a float tensor`);
    return t;
  };
  const factors: ScaleFactorAt[] = [];
  const sideFactor: Record<'q' | 'k', number> = { q: 1, k: 1 };
  let softcap: number | null = null;
  let inner = 1;
  const stopped = new Set<FactorSide>();
  for (const f of site.factors) {
    if (stopped.has(f.side)) continue;
    let factor: number | null = null;
    if (f.value !== null) factor = f.op === 'Div' ? 1 / f.value : f.value;
    else {
      const [a, b] = f.inputs.map((n) => tensor(n));
      const one = (t: Captured | null): boolean => t !== null && t.data.length === 1;
      if (one(b) && (f.path === null || f.path === f.inputs[0])) factor = f.op === 'Div' ? 1 / b!.data[0] : b!.data[0];
      else if (f.op === 'Mul' && one(a) && (f.path === null || f.path === f.inputs[1])) factor = a!.data[0];
    }
    if (factor === null) { stopped.add(f.side); continue; } // not a scalar: not part of the scale (a mask, a gate)
    factors.push({ side: f.side, node: f.node, op: f.op, factor });
    if (f.side === 'softcap') softcap = (softcap ?? 1) * factor;
    else inner *= factor;
    if (f.side === 'q' || f.side === 'k') sideFactor[f.side] *= factor;
  }
  if (softcap === null && site.scoreOps.includes('Tanh')) softcap = 1; // tanh with no factor after it: c = 1
  // An Einsum's operands, laid out as a MatMul of q and kᵀ takes them.
  const laid = (t: Captured, perm: number[] | null, role: string): Captured => {
    if (perm === null) return t;
    if (t.dims.length !== perm.length) throw new ScaledotError('E_SHAPE', `${what}: ${role} has shape [${t.dims}] but the Einsum ${site.scoreMatMul.name} names ${perm.length} axes`);
    return permuted(t, perm);
  };
  const qT = laid(need(site.q), site.qPerm, 'q');
  const kT = laid(need(site.kT), site.kPerm, 'k');
  const lg = need(site.logits);
  const pr = need(site.probs);
  const shape = `q [${qT.dims}], kᵀ [${kT.dims}] and logits [${lg.dims}]`;
  const lead = (dims: number[], role: string): [number, number] => {
    if (dims.length < 2 || dims.length > 4) throw new ScaledotError('E_SHAPE', `${what}: ${role} has shape [${dims.join(',')}]; expected rank 2 to 4 (…, length, dim): ${shape}`);
    const d = [...Array(4 - dims.length).fill(1), ...dims];
    return [d[0], d[1]];
  };
  let [B, H] = lead(lg.dims, 'the Softmax input');
  // Rank-3 logits [batch·heads, L, S]: the batch is the model's first input's (its heads are what is left).
  if (lg.dims.length === 3 && batchHint !== undefined && batchHint > 0 && lg.dims[0] % batchHint === 0) [B, H] = [batchHint, lg.dims[0] / batchHint];
  const [L, S] = lg.dims.slice(-2);
  const D = qT.dims[qT.dims.length - 1];
  const [qb, qh] = lead(qT.dims, 'q');
  let [Bk, Hk] = lead(kT.dims, 'kᵀ');
  if ((qT.dims.length !== lg.dims.length || qh !== H) && qb * qh === B * H && Bk * Hk === B * H) [Bk, Hk] = [B, H]; // rank 3 [B·H, ·, ·]
  else if (qb !== B || qh !== H) throw new ScaledotError('E_SHAPE', `${what}: ${shape} do not make (batch, heads, L, S) attention`);
  const axis = site.softmaxAxis;
  if (axis !== -1 && axis !== lg.dims.length - 1) {
    throw new ScaledotError('E_ARG', `${what}: Softmax ${site.softmax.name} normalises axis ${axis}${site.softmax.attributes.has('axis') ? '' : ' (its opset\'s default)'} of a rank-${lg.dims.length} tensor, not the key axis alone`);
  }
  if (qT.dims[qT.dims.length - 2] !== L || kT.dims[kT.dims.length - 2] !== D || kT.dims[kT.dims.length - 1] !== S || (Bk !== B && Bk !== 1) || H % Hk !== 0) {
    throw new ScaledotError('E_SHAPE', `${what}: ${shape} do not make (batch, heads, L, S) attention`);
  }
  // q ÷ its factors; kᵀ [Bk, Hk, D, S] → k [Bk, Hk, S, D] ÷ its factors, the layout the figures read (a batch of 1 broadcasts).
  const q = new Float64Array(qT.data.length);
  for (let i = 0; i < q.length; i++) q[i] = qT.data[i] / sideFactor.q;
  const k = new Float64Array(Bk * Hk * S * D);
  for (let bh = 0; bh < Bk * Hk; bh++) for (let d = 0; d < D; d++) for (let s = 0; s < S; s++) k[(bh * S + s) * D + d] = kT.data[(bh * D + d) * S + s] / sideFactor.k;
  const scale = inner * (softcap ?? 1);
  return {
    q: { data: q, batch: B, heads: H, length: L, dim: D, strideB: H * L * D, strideH: L * D, strideL: D },
    k: { data: k, batch: B, heads: Hk, length: S, dim: D, strideB: Bk === 1 ? 0 : Hk * S * D, strideH: S * D, strideL: D },
    logits: lg.data, probs: pr.data, qName: site.q, kName: site.kT, qDims: qT.dims, kDims: kT.dims, qType: qT.type, kType: kT.type, scale, inner, softcap, factors,
  };
}

/** The scale the logits show, what is left of them past the graph's scale, the masked share, and the softmax check. */
export function checkLogits(r: ResolvedSite): Pick<OnnxLayerSummary, 'scaleMeasured' | 'logitResidualMax' | 'maskedShare' | 'softmaxResidualMax'> {
  const { q, k } = r;
  const S = k.length;
  const keys = new Int32Array(S);
  const given = new Float64Array(S);
  let xd = 0;
  let dd = 0;
  let residual = 0;
  let masked = 0;
  let softmaxResidual = 0;
  for (let b = 0; b < q.batch; b++) {
    for (let h = 0; h < q.heads; h++) {
      const kh = Math.floor(h / (q.heads / k.heads));
      for (let i = 0; i < q.length; i++) {
        const base = ((b * q.heads + h) * q.length + i) * S;
        const n = modelRowKeys(r.logits, base, S, keys, given);
        masked += S - n;
        let m = -Infinity;
        for (let j = 0; j < n; j++) m = Math.max(m, given[j]);
        let l = 0;
        for (let j = 0; j < n; j++) l += Math.exp(given[j] - m);
        for (let j = 0, at = 0; j < S; j++) {
          const p = at < n && keys[at] === j ? Math.exp(given[at++] - m) / l : 0;
          softmaxResidual = Math.max(softmaxResidual, Math.abs(p - r.probs[base + j]));
        }
        for (let j = 0; j < n; j++) {
          let dot = 0;
          const qb = b * q.strideB + h * q.strideH + i * q.strideL;
          const kb = b * k.strideB + kh * k.strideH + keys[j] * k.strideL;
          for (let e = 0; e < q.dim; e++) dot += q.data[qb + e] * k.data[kb + e];
          const predicted = r.softcap === null ? r.scale * dot : r.softcap * Math.tanh(r.inner * dot);
          residual = Math.max(residual, Math.abs(given[j] - predicted));
          xd += given[j] * dot;
          dd += dot * dot;
        }
      }
    }
  }
  return {
    scaleMeasured: r.softcap === null && dd > 0 ? xd / dd : null,
    logitResidualMax: residual,
    maskedShare: masked / (q.batch * q.heads * q.length * S),
    softmaxResidualMax: softmaxResidual,
  };
}

/** K's distinct heads where the graph repeated them for the MatMul (GQA exported as repeat_kv): the largest group of equal neighbours. */
export function sharedKvHeads(k: QkView, qHeads: number): number {
  if (k.heads !== qHeads) return k.heads;
  const block = k.length * k.dim;
  const same = (h1: number, h2: number): boolean => {
    for (let b = 0; b < k.batch; b += Math.max(1, k.strideB === 0 ? k.batch : 1)) {
      const o1 = b * k.strideB + h1 * k.strideH;
      const o2 = b * k.strideB + h2 * k.strideH;
      for (let x = 0; x < block; x++) if (k.data[o1 + x] !== k.data[o2 + x]) return false;
    }
    return true;
  };
  for (let group = qHeads; group > 1; group--) {
    if (qHeads % group !== 0) continue;
    let ok = true;
    for (let h = 0; h < qHeads && ok; h++) ok = same(h, h - (h % group));
    if (ok) return qHeads / group;
  }
  return qHeads;
}
