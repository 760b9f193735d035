import { ScaledotError } from '../../tensor/index.js';
import type { OnnxNode } from './proto.js';

/**
 * The fused attention ops inspect opens. Their logits never leave the
 * kernel, so fused-logits.ts computes them from the captured inputs by the
 * op's definition, masked keys at −∞:
 *
 * - com.microsoft MultiHeadAttention (query [B, L, H·D], key [B, S, H·D] or
 *   [B, H, S, D]; `scale`, `unidirectional`, key_padding_mask, attention_bias);
 * - com.microsoft GroupQueryAttention (query [B, L, H·D], key [B, S, Hkv·D];
 *   always causal; `scale`, `softcap`, seqlens_k);
 * - com.microsoft Attention, whose input is the hidden states X and which
 *   makes q and k inside: Q|K|V = X·W + bias, split by `qkv_hidden_sizes` or in
 *   three equal parts (`scale`, `unidirectional`, mask_index, attention_bias);
 * - ai.onnx Attention (opset 23): Q, K, V given, [B, L, Hq·D] with
 *   `q_num_heads`/`kv_num_heads` or [B, Hq, L, D]; `scale`, `is_causal`,
 *   `softcap`, attn_mask (bool: true attends; float: added) and
 *   nonpad_kv_seqlen (opset 24).
 *
 * What such an op would do besides (q, k and v packed in MultiHeadAttention's
 * query, a bias added inside it, rotary inside, past keys, a local window, a
 * Megatron-style 4-D mask_index) is refused by name rather than guessed.
 */
export interface FusedSite {
  layer: string;
  node: OnnxNode;
  op: 'MultiHeadAttention' | 'GroupQueryAttention' | 'Attention';
  domain: 'com.microsoft' | 'ai.onnx';
  /** The query and key inputs; com.microsoft Attention: both are its input X (q and k are made from it). */
  q: string;
  k: string;
  /** com.microsoft Attention: the weight [in, hq + hk + hv], its bias, and the three widths (null: equal thirds). */
  packed: { weight: string; bias: string | null; sizes: [number, number, number] | null } | null;
  /** num_heads (q_num_heads); null where the shapes say (ai.onnx Attention on 4-D inputs). */
  heads: number | null;
  kvHeads: number | null;
  /** The op's scale attribute; null: 1/√headDim. */
  scale: number | null;
  causal: boolean;
  /** Where a causal mask starts: `bottom-right` (j ≤ i + S − L, the contrib ops) or `top-left` (j ≤ i, ai.onnx Attention with no past). */
  causalFrom: 'bottom-right' | 'top-left';
  softcap: number | null;
  /** key_padding_mask (MultiHeadAttention) or mask_index (Attention): [B] lengths, [B, S] or [B, L, S] keep flags; Attention also [2B] ends then starts. */
  keyPaddingMask: string | null;
  /** Added to the logits: attention_bias [B|1, H|1, L, S] (contrib ops). */
  attentionBias: string | null;
  /** ai.onnx Attention's attn_mask, broadcast to [B, Hq, L, S]: bool (true attends) or float (added). */
  attnMask: string | null;
  /** ai.onnx Attention's nonpad_kv_seqlen [B]: keys at or past it are padding. */
  nonpadKvSeqlen: string | null;
  /** GroupQueryAttention: seqlens_k [B] (each sequence's keys − 1) and past_key (must be empty). */
  seqlensK: string | null;
  pastKey: string | null;
}

const CONTRIB = new Set(['MultiHeadAttention', 'GroupQueryAttention', 'Attention']);

/** Whether inspect opens this node (the others of FUSED in pattern.ts are refused by name). */
export function isOpenedFused(node: OnnxNode): boolean {
  return (node.domain === 'com.microsoft' && CONTRIB.has(node.opType)) || ((node.domain === '' || node.domain === 'ai.onnx') && node.opType === 'Attention');
}

const given = (node: OnnxNode, i: number): string | null => (node.inputs[i] !== undefined && node.inputs[i] !== '' ? node.inputs[i] : null);

/** The site of an opened fused node, or a ScaledotError naming what it does that inspect cannot follow. */
export function fusedSite(node: OnnxNode, layer: string, what: string): FusedSite {
  const op = node.opType as FusedSite['op'];
  const domain = node.domain === 'com.microsoft' ? 'com.microsoft' : 'ai.onnx';
  const int = (name: string): number | undefined => node.attributes.get(name)?.i;
  const float = (name: string): number | undefined => node.attributes.get(name)?.f;
  const refuse = (why: string): never => {
    throw new ScaledotError('E_ARG', `${what}: ${domain}.${op} node ${JSON.stringify(node.name)} ${why}; inspect reads a fused op whose q and k it can capture or make as the op does`);
  };
  const scale = float('scale') ? float('scale')! : null;
  const none = { packed: null, kvHeads: null, softcap: null, keyPaddingMask: null, attentionBias: null, attnMask: null, nonpadKvSeqlen: null, seqlensK: null, pastKey: null };
  if (domain === 'ai.onnx') {
    if (given(node, 4) !== null) refuse('takes past keys (past_key)');
    const softcap = float('softcap');
    return {
      ...none, layer, node, op, domain, q: node.inputs[0], k: node.inputs[1], heads: int('q_num_heads') ?? null, kvHeads: int('kv_num_heads') ?? null, scale,
      causal: (int('is_causal') ?? 0) === 1, causalFrom: 'top-left', softcap: softcap ? softcap : null, attnMask: given(node, 3), nonpadKvSeqlen: given(node, 6),
    };
  }
  const heads = int('num_heads');
  if (heads === undefined || heads <= 0) refuse('has no num_heads');
  if ((int('do_rotary') ?? 0) !== 0) refuse('applies the rotary embedding inside the kernel (do_rotary = 1), so its inputs are not the q and k it multiplies');
  if (op === 'Attention') {
    if (given(node, 4) !== null) refuse('takes past keys and values (past)');
    // Refused before the run: onnxruntime's CPU kernel needs the bias (onnxruntime-web says so; onnxruntime-node 1.30 crashes the process).
    if (given(node, 2) === null) refuse('has no bias input, which onnxruntime\'s CPU kernel needs (onnxruntime-web refuses the model and onnxruntime-node 1.30 crashes on it)');
    const sizes = node.attributes.get('qkv_hidden_sizes')?.ints;
    if (sizes !== undefined && (sizes.length !== 3 || sizes[0] !== sizes[1])) refuse(`has qkv_hidden_sizes [${sizes}]; inspect reads q and k of one width`);
    return {
      ...none, layer, node, op, domain, q: node.inputs[0], k: node.inputs[0], heads: heads!, scale, causal: (int('unidirectional') ?? 0) === 1, causalFrom: 'bottom-right',
      packed: { weight: node.inputs[1], bias: given(node, 2), sizes: sizes === undefined ? null : [sizes[0], sizes[1], sizes[2]] },
      keyPaddingMask: given(node, 3), attentionBias: given(node, 5),
    };
  }
  if (given(node, 1) === null) refuse('takes q, k and v packed in its query input');
  if (op === 'MultiHeadAttention') {
    if (given(node, 3) !== null) refuse('adds a bias input to q, k and v inside the kernel');
    if (given(node, 6) !== null) refuse('takes past keys');
    return {
      ...none, layer, node, op, domain, q: node.inputs[0], k: node.inputs[1], heads: heads!, scale,
      causal: (int('unidirectional') ?? 0) === 1, causalFrom: 'bottom-right', keyPaddingMask: given(node, 4), attentionBias: given(node, 5),
    };
  }
  if ((int('local_window_size') ?? -1) >= 0) refuse('uses a local window');
  if (given(node, 10) !== null) refuse('adds an attention_bias');
  const softcap = float('softcap');
  return {
    ...none, layer, node, op, domain, q: node.inputs[0], k: node.inputs[1], heads: heads!, kvHeads: int('kv_num_heads') ?? heads!, scale,
    causal: true, causalFrom: 'bottom-right', softcap: softcap ? softcap : null, seqlensK: given(node, 5), pastKey: given(node, 3),
  };
}

/** The tensors a fused site reads at run time (initializers included: the runtime hands them back as outputs too). */
export function fusedCaptures(site: FusedSite): string[] {
  return [site.q, site.k, site.packed?.weight ?? null, site.packed?.bias ?? null, site.keyPaddingMask, site.attentionBias, site.attnMask, site.nonpadKvSeqlen, site.seqlensK, site.pastKey]
    .filter((n): n is string => n !== null);
}
