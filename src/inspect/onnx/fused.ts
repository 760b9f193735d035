import { ScaledotError } from '../../tensor/index.js';
import type { QkView } from '../view.js';
import type { OnnxNode } from './proto.js';

/**
 * ONNX Runtime's fused attention ops whose inputs are q and k:
 * com.microsoft MultiHeadAttention (query [B, L, H·D], key [B, S, H·D] or
 * [B, H, S, D]; `scale`, `unidirectional`, key_padding_mask, attention_bias)
 * and GroupQueryAttention (query [B, L, H·D], key [B, S, Hkv·D]; always
 * causal; `scale`, `softcap`, seqlens_k). Their logits never leave the
 * kernel, so they are computed here from the captured q and k by the op's
 * definition, masked keys at −∞. What the op would do besides (a packed qkv,
 * a bias added inside, rotary inside, past keys, a local window) is refused
 * by name rather than guessed.
 */
export interface FusedSite {
  layer: string;
  node: OnnxNode;
  op: 'MultiHeadAttention' | 'GroupQueryAttention';
  q: string;
  k: string;
  heads: number;
  kvHeads: number | null;
  /** The op's scale attribute; null: 1/√headDim. */
  scale: number | null;
  causal: boolean;
  softcap: number | null;
  /** MultiHeadAttention: key_padding_mask ([B] lengths, [B, S] or [B, L, S] keep flags) and attention_bias ([B|1, H|1, L, S]). */
  keyPaddingMask: string | null;
  attentionBias: string | null;
  /** GroupQueryAttention: seqlens_k [B] (each sequence's keys − 1) and past_key (must be empty). */
  seqlensK: string | null;
  pastKey: string | null;
}

export const FUSED_SUPPORTED = new Set(['MultiHeadAttention', 'GroupQueryAttention']);

const given = (node: OnnxNode, i: number): string | null => (node.inputs[i] !== undefined && node.inputs[i] !== '' ? node.inputs[i] : null);

/** The site of a supported fused node, or a ScaledotError naming what it does that inspect cannot follow. */
export function fusedSite(node: OnnxNode, layer: string, what: string): FusedSite {
  const op = node.opType as FusedSite['op'];
  const int = (name: string): number | undefined => node.attributes.get(name)?.i;
  const float = (name: string): number | undefined => node.attributes.get(name)?.f;
  const refuse = (why: string): never => {
    throw new ScaledotError('E_ARG', `${what}: com.microsoft.${op} node ${JSON.stringify(node.name)} ${why}; inspect reads a fused op whose inputs are q and k as attention multiplies them`);
  };
  const heads = int('num_heads');
  if (heads === undefined || heads <= 0) refuse('has no num_heads');
  if (given(node, 1) === null) refuse('takes q, k and v packed in its query input');
  const scale = float('scale');
  if (op === 'MultiHeadAttention') {
    if (given(node, 3) !== null) refuse('adds a bias input to q, k and v inside the kernel');
    if (given(node, 6) !== null) refuse('takes past keys');
    return {
      layer, node, op, q: node.inputs[0], k: node.inputs[1], heads: heads!, kvHeads: null, scale: scale ? scale : null,
      causal: (int('unidirectional') ?? 0) === 1, softcap: null, keyPaddingMask: given(node, 4), attentionBias: given(node, 5), seqlensK: null, pastKey: null,
    };
  }
  if ((int('do_rotary') ?? 0) !== 0) refuse('applies the rotary embedding inside the kernel (do_rotary = 1), so its inputs are not the q and k it multiplies');
  if ((int('local_window_size') ?? -1) >= 0) refuse('uses a local window');
  if (given(node, 10) !== null) refuse('adds an attention_bias');
  const softcap = float('softcap');
  return {
    layer, node, op, q: node.inputs[0], k: node.inputs[1], heads: heads!, kvHeads: int('kv_num_heads') ?? heads!, scale: scale ? scale : null,
    causal: true, softcap: softcap ? softcap : null, keyPaddingMask: null, attentionBias: null, seqlensK: given(node, 5), pastKey: given(node, 3),
  };
}

export interface Captured {
  dims: number[];
  data: ArrayLike<number>;
}

/**
 * q and k as [B, H, ·, D] views over the op's inputs, and the logits the op
 * computes: scale·q·k (soft-capped: c·tanh(x/c)), plus attention_bias, with
 * the keys it masks (causal bottom-right, key padding, seqlens_k) at −∞.
 */
export type IntsOf = (name: string) => { dims: number[]; values: number[] } | null;

export function fusedLogits(site: FusedSite, q: Captured, k: Captured, ints: IntsOf, floats: (name: string) => Captured | null, what: string):
  { q: QkView; k: QkView; logits: Float64Array; scale: number } {
  const H = site.heads;
  if (q.dims.length !== 3) throw new ScaledotError('E_SHAPE', `${what}: query has shape [${q.dims}]; expected [batch, length, heads·headDim]`);
  const [B, L, W] = q.dims;
  if (W % H !== 0) throw new ScaledotError('E_SHAPE', `${what}: query width ${W} is not num_heads ${H} × a whole headDim`);
  const D = W / H;
  const qView: QkView = { data: Float64Array.from(q.data), batch: B, heads: H, length: L, dim: D, strideB: L * W, strideH: D, strideL: W };
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
  if (bias !== null && (bias.dims.length !== 4 || bias.dims[2] !== L || bias.dims[3] !== S)) throw new ScaledotError('E_SHAPE', `${what}: attention_bias has shape [${bias.dims}]; expected [B or 1, H or 1, ${L}, ${S}]`);
  const logits = new Float64Array(B * H * L * S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / (H / kView.heads));
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < S; j++) {
          const at = ((b * H + h) * L + i) * S + j;
          if (!keep(b, i, j)) { logits[at] = -Infinity; continue; }
          let dot = 0;
          const qb = b * qView.strideB + h * qView.strideH + i * qView.strideL;
          const kb = b * kView.strideB + kh * kView.strideH + j * kView.strideL;
          for (let e = 0; e < D; e++) dot += qView.data[qb + e] * kView.data[kb + e];
          let x = scale * dot;
          if (site.softcap !== null) x = site.softcap * Math.tanh(x / site.softcap);
          if (bias !== null) x += bias.data[(((bias.dims[0] === 1 ? 0 : b) * bias.dims[1] + (bias.dims[1] === 1 ? 0 : h)) * L + i) * S + j];
          logits[at] = x;
        }
      }
    }
  }
  return { q: qView, k: kView, logits, scale };
}

/** Whether query i of batch element b reads key j under the op's masks. */
function keyKeep(site: FusedSite, B: number, L: number, S: number, ints: IntsOf, what: string): (b: number, i: number, j: number) => boolean {
  const causal = (i: number, j: number): boolean => !site.causal || j <= i + S - L;
  if (site.seqlensK !== null) {
    const seqlens = ints(site.seqlensK)?.values ?? null;
    if (seqlens === null || seqlens.length !== B) throw new ScaledotError('E_SHAPE', `${what}: seqlens_k has ${seqlens?.length} values; expected one per batch element (${B})`);
    return (b, i, j) => causal(i, j) && j <= seqlens[b];
  }
  if (site.keyPaddingMask !== null) {
    const got = ints(site.keyPaddingMask);
    if (got === null) throw new ScaledotError('E_ARG', `${what}: key_padding_mask did not come back from the runtime`);
    const { dims, values: mask } = got;
    if (dims.length === 1 && dims[0] === B) return (b, i, j) => causal(i, j) && j < mask[b];
    if (dims.length === 2 && dims[0] === B && dims[1] === S) return (b, i, j) => causal(i, j) && mask[b * S + j] !== 0;
    if (dims.length === 3 && dims[0] === B && dims[1] === L && dims[2] === S) return (b, i, j) => causal(i, j) && mask[(b * L + i) * S + j] !== 0;
    throw new ScaledotError('E_SHAPE', `${what}: key_padding_mask has shape [${dims}]; inspect reads [B], [B, S] or [B, L, S]`);
  }
  return (_b, i, j) => causal(i, j);
}
