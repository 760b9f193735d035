import { ScaledotError } from '../../tensor/index.js';
import type { QkView } from '../view.js';
import type { FusedSite } from './fused.js';

export interface Captured {
  dims: number[];
  data: ArrayLike<number>;
}

/** A captured tensor's values as numbers (bools as 0/1), with the runtime's type name where known. */
export type IntsOf = (name: string) => { dims: number[]; values: number[]; type?: string } | null;

/**
 * q and k as [B, H, ·, D] views, and the logits the fused op computes:
 *
 *   logit = c·tanh(s·q·k / c) + bias + mask       (no soft-cap: s·q·k + bias + mask)
 *
 * s the scale attribute or 1/√D, c the soft-cap, bias attention_bias, mask a
 * float attn_mask; the keys the op masks (causal, key padding, seqlens_k,
 * nonpad_kv_seqlen, a false bool attn_mask, a −∞ float one) at −∞. The soft-cap
 * comes before the mask and bias, as ONNX's reference for Attention and
 * GroupQueryAttention apply it. com.microsoft Attention's q and k are made
 * first, in float64, as the op makes them: Q|K = X·W + bias.
 */
export function fusedLogits(site: FusedSite, qIn: Captured, kIn: Captured, ints: IntsOf, floats: (name: string) => Captured | null, what: string):
  { q: QkView; k: QkView; logits: Float64Array; scale: number } {
  const [q, k] = site.packed === null ? [qIn, kIn] : project(site, qIn, floats, what);
  let qView: QkView;
  let H: number;
  if (q.dims.length === 3) {
    if (site.heads === null) throw new ScaledotError('E_ARG', `${what}: query has shape [${q.dims}] but the op has no q_num_heads to split it into heads`);
    H = site.heads;
    const [B, L, W] = q.dims;
    if (W % H !== 0) throw new ScaledotError('E_SHAPE', `${what}: query width ${W} is not num_heads ${H} × a whole headDim`);
    const D = W / H;
    qView = { data: Float64Array.from(q.data), batch: B, heads: H, length: L, dim: D, strideB: L * W, strideH: D, strideL: W };
  } else if (q.dims.length === 4 && site.domain === 'ai.onnx') {
    const [B, Hq, L, D] = q.dims;
    if (site.heads !== null && site.heads !== Hq) throw new ScaledotError('E_SHAPE', `${what}: query has shape [${q.dims}] but q_num_heads is ${site.heads}`);
    H = Hq;
    qView = { data: Float64Array.from(q.data), batch: B, heads: H, length: L, dim: D, strideB: H * L * D, strideH: L * D, strideL: D };
  } else {
    throw new ScaledotError('E_SHAPE', `${what}: query has shape [${q.dims}]; expected [batch, length, heads·headDim]${site.domain === 'ai.onnx' ? ' or [batch, heads, length, headDim]' : ''}`);
  }
  const { batch: B, length: L, dim: D } = qView;
  let kView: QkView;
  if (k.dims.length === 3) {
    const hk = k.dims[2] / D;
    if (!Number.isInteger(hk) || H % hk !== 0 || k.dims[0] !== B) throw new ScaledotError('E_SHAPE', `${what}: key has shape [${k.dims}] against query [${q.dims}] (headDim ${D})`);
    kView = { data: Float64Array.from(k.data), batch: B, heads: hk, length: k.dims[1], dim: D, strideB: k.dims[1] * k.dims[2], strideH: D, strideL: k.dims[2] };
  } else if (k.dims.length === 4 && k.dims[0] === B && k.dims[3] === D && H % k.dims[1] === 0) {
    kView = { data: Float64Array.from(k.data), batch: B, heads: k.dims[1], length: k.dims[2], dim: D, strideB: k.dims[1] * k.dims[2] * D, strideH: k.dims[2] * D, strideL: D };
  } else {
    throw new ScaledotError('E_SHAPE', `${what}: key has shape [${k.dims}] against query [${q.dims}]`);
  }
  if (site.kvHeads !== null && kView.heads !== site.kvHeads) throw new ScaledotError('E_SHAPE', `${what}: key has ${kView.heads} heads but kv_num_heads is ${site.kvHeads}`);
  const S = kView.length;
  const scale = site.scale ?? 1 / Math.sqrt(D);
  const pastDims = site.pastKey === null ? null : floats(site.pastKey)?.dims ?? null;
  if (pastDims !== null && pastDims.length === 4 && pastDims[2] > 0) throw new ScaledotError('E_ARG', `${what}: past_key holds ${pastDims[2]} past positions; inspect reads a prompt run (empty past)`);
  const keep = keyKeep(site, B, L, S, ints, what);
  const bias = site.attentionBias === null ? null : floats(site.attentionBias);
  if (site.attentionBias !== null && bias === null) throw new ScaledotError('E_ARG', `${what}: attention_bias ${site.attentionBias} did not come back from the runtime as a float tensor`);
  if (bias !== null && (bias.dims.length !== 4 || bias.dims[2] !== L || bias.dims[3] !== S)) throw new ScaledotError('E_SHAPE', `${what}: attention_bias has shape [${bias.dims}]; expected [B or 1, H or 1, ${L}, ${S}]`);
  const mask = attnMask(site, B, H, L, S, ints, what);
  const logits = new Float64Array(B * H * L * S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / (H / kView.heads));
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < S; j++) {
          const at = ((b * H + h) * L + i) * S + j;
          const added = mask === null ? 0 : mask(b, h, i, j);
          if (!keep(b, i, j) || added === -Infinity) { logits[at] = -Infinity; continue; }
          let dot = 0;
          const qb = b * qView.strideB + h * qView.strideH + i * qView.strideL;
          const kb = b * kView.strideB + kh * kView.strideH + j * kView.strideL;
          for (let e = 0; e < D; e++) dot += qView.data[qb + e] * kView.data[kb + e];
          let x = scale * dot;
          if (site.softcap !== null) x = site.softcap * Math.tanh(x / site.softcap);
          if (bias !== null) x += bias.data[(((bias.dims[0] === 1 ? 0 : b) * bias.dims[1] + (bias.dims[1] === 1 ? 0 : h)) * L + i) * S + j];
          logits[at] = x + added;
        }
      }
    }
  }
  return { q: qView, k: kView, logits, scale };
}

/** com.microsoft Attention's q and k, [B, L, hq] and [B, L, hk]: X·W + bias over the weight's first two column blocks. */
function project(site: FusedSite, x: Captured, floats: (name: string) => Captured | null, what: string): [Captured, Captured] {
  const packed = site.packed!;
  const w = floats(packed.weight);
  if (w === null) throw new ScaledotError('E_ARG', `${what}: weight ${packed.weight} did not come back from the runtime as a float tensor`);
  const bias = packed.bias === null ? null : floats(packed.bias);
  if (x.dims.length !== 3 || w.dims.length !== 2 || w.dims[0] !== x.dims[2]) throw new ScaledotError('E_SHAPE', `${what}: input [${x.dims}] and weight [${w.dims}] do not make X·W ([batch, length, in] · [in, q + k + v])`);
  const [B, L, In] = x.dims;
  const width = w.dims[1];
  const [hq, hk] = packed.sizes ?? [width / 3, width / 3];
  if (!Number.isInteger(hq) || (packed.sizes !== null && packed.sizes.reduce((a, c) => a + c, 0) !== width)) {
    throw new ScaledotError('E_SHAPE', `${what}: weight [${w.dims}] does not split into q, k and v widths ${packed.sizes === null ? 'of a third each' : `[${packed.sizes}]`}`);
  }
  if (bias !== null && bias.data.length !== width) throw new ScaledotError('E_SHAPE', `${what}: bias has ${bias.data.length} values; the weight has ${width} columns`);
  const make = (from: number, n: number): Captured => {
    const out = new Float64Array(B * L * n);
    for (let r = 0; r < B * L; r++) {
      for (let c = 0; c < n; c++) {
        let s = bias === null ? 0 : bias.data[from + c];
        for (let e = 0; e < In; e++) s += x.data[r * In + e] * w.data[e * width + from + c];
        out[r * n + c] = s;
      }
    }
    return { dims: [B, L, n], data: out };
  };
  return [make(0, hq), make(hq, hk)];
}

/** Whether query i of batch element b reads key j under the op's causal and padding masks. */
function keyKeep(site: FusedSite, B: number, L: number, S: number, ints: IntsOf, what: string): (b: number, i: number, j: number) => boolean {
  const lengths = (name: string, label: string): number[] => {
    const got = ints(name)?.values ?? null;
    if (got === null || got.length !== B) throw new ScaledotError('E_SHAPE', `${what}: ${label} has ${got?.length} values; expected one per batch element (${B})`);
    return got;
  };
  const nonpad = site.nonpadKvSeqlen === null ? null : lengths(site.nonpadKvSeqlen, 'nonpad_kv_seqlen');
  // ai.onnx Attention: j ≤ i with no cache, j ≤ i + nonpad − L with one (ONNX's reference); the contrib ops: bottom-right.
  const causal = (b: number, i: number, j: number): boolean => !site.causal ||
    j <= i + (site.causalFrom === 'bottom-right' ? S - L : nonpad === null ? 0 : nonpad[b] - L);
  if (nonpad !== null) return (b, i, j) => causal(b, i, j) && j < nonpad[b];
  if (site.seqlensK !== null) {
    const seqlens = lengths(site.seqlensK, 'seqlens_k');
    return (b, i, j) => causal(b, i, j) && j <= seqlens[b];
  }
  if (site.keyPaddingMask !== null) {
    const got = ints(site.keyPaddingMask);
    if (got === null) throw new ScaledotError('E_ARG', `${what}: ${site.op === 'Attention' ? 'mask_index' : 'key_padding_mask'} did not come back from the runtime`);
    const { dims, values: mask } = got;
    if (dims.length === 1 && dims[0] === B) return (b, i, j) => causal(b, i, j) && j < mask[b];
    // Attention's [2B]: each sequence's end, then its start (keys before the start are padding too).
    if (site.op === 'Attention' && dims.length === 1 && dims[0] === 2 * B) return (b, i, j) => causal(b, i, j) && j < mask[b] && j >= mask[B + b];
    if (dims.length === 2 && dims[0] === B && dims[1] === S) return (b, i, j) => causal(b, i, j) && mask[b * S + j] !== 0;
    if (dims.length === 3 && dims[0] === B && dims[1] === L && dims[2] === S) return (b, i, j) => causal(b, i, j) && mask[(b * L + i) * S + j] !== 0;
    throw new ScaledotError('E_SHAPE', `${what}: ${site.op === 'Attention' ? 'mask_index' : 'key_padding_mask'} has shape [${dims}]; inspect reads [B], ${site.op === 'Attention' ? '[2B], ' : ''}[B, S] or [B, L, S]`);
  }
  return (b, i, j) => causal(b, i, j);
}

/**
 * ai.onnx Attention's attn_mask as what it adds to logit (b, h, i, j): 0 or −∞ for a bool mask (true attends), the
 * value for a float one. Its shape broadcasts to [B, Hq, L, S] from the right; a last axis shorter than S is padded
 * with masked keys, as ONNX's reference pads it.
 */
function attnMask(site: FusedSite, B: number, H: number, L: number, S: number, ints: IntsOf, what: string): ((b: number, h: number, i: number, j: number) => number) | null {
  if (site.attnMask === null) return null;
  const got = ints(site.attnMask);
  if (got === null) throw new ScaledotError('E_ARG', `${what}: attn_mask ${site.attnMask} did not come back from the runtime`);
  const { dims, values } = got;
  const full = [B, H, L, S];
  const d = [...Array(Math.max(0, 4 - dims.length)).fill(1), ...dims];
  if (dims.length < 2 || dims.length > 4 || d[3] > S || d.slice(0, 3).some((n, a) => n !== 1 && n !== full[a])) {
    throw new ScaledotError('E_SHAPE', `${what}: attn_mask has shape [${dims}]; it must broadcast to [batch ${B}, heads ${H}, queries ${L}, keys ≤ ${S}]`);
  }
  const bool = got.type === 'bool';
  return (b, h, i, j) => {
    if (j >= d[3]) return -Infinity;
    const v = values[(((d[0] === 1 ? 0 : b) * d[1] + (d[1] === 1 ? 0 : h)) * d[2] + (d[2] === 1 ? 0 : i)) * d[3] + j];
    return bool ? (v !== 0 ? 0 : -Infinity) : v;
  };
}
