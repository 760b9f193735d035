import { floatInput, int32Input, model, node, type Attribute } from './onnx-model.js';

/**
 * The graphs ONNX Runtime runs a decoding step with: one new token's query,
 * key and value, and the cache so far as past_key / past_value
 * ([B, Hkv, past, d]); the op appends the new key and value and returns the
 * grown cache as present_key / present_value (a copy of the whole cache per
 * step: how these ops keep it).
 *   GroupQueryAttention (com.microsoft): Hq query heads over Hkv kv heads,
 *     seqlens_k = total − 1 per batch element, total_sequence_length.
 *   MultiHeadAttention (com.microsoft) with past: Hq = Hkv.
 */
export interface DecodeGraphShape {
  hq: number;
  hkv: number;
  /** Keys in the cache before this step. */
  past: number;
  d: number;
}

// The present outputs' shapes are left to the op's shape inference (GroupQueryAttention's
// does not merge with a declared [B, Hkv, past + 1, d]).
const outputs = (sh: DecodeGraphShape) => [floatInput('output', [1, 1, sh.hq * sh.d]), floatInput('present_key', null), floatInput('present_value', null)];

export function groupQueryAttentionDecodeModel(sh: DecodeGraphShape): Uint8Array {
  const attrs: Attribute[] = [{ name: 'num_heads', int: sh.hq }, { name: 'kv_num_heads', int: sh.hkv }, { name: 'scale', float: 1 / Math.sqrt(sh.d) }];
  return model({
    nodes: [node('GroupQueryAttention', ['query', 'key', 'value', 'past_key', 'past_value', 'seqlens_k', 'total_sequence_length'],
      ['output', 'present_key', 'present_value'], attrs, 'com.microsoft')],
    inputs: [
      floatInput('query', [1, 1, sh.hq * sh.d]), floatInput('key', [1, 1, sh.hkv * sh.d]), floatInput('value', [1, 1, sh.hkv * sh.d]),
      floatInput('past_key', [1, sh.hkv, sh.past, sh.d]), floatInput('past_value', [1, sh.hkv, sh.past, sh.d]),
      int32Input('seqlens_k', [1]), int32Input('total_sequence_length', []),
    ],
    outputs: outputs(sh),
  }, [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }]);
}

export function multiHeadAttentionDecodeModel(sh: DecodeGraphShape): Uint8Array {
  const attrs: Attribute[] = [{ name: 'num_heads', int: sh.hq }, { name: 'scale', float: 1 / Math.sqrt(sh.d) }];
  return model({
    nodes: [node('MultiHeadAttention', ['query', 'key', 'value', '', '', '', 'past_key', 'past_value'],
      ['output', 'present_key', 'present_value'], attrs, 'com.microsoft')],
    inputs: [
      floatInput('query', [1, 1, sh.hq * sh.d]), floatInput('key', [1, 1, sh.hq * sh.d]), floatInput('value', [1, 1, sh.hq * sh.d]),
      floatInput('past_key', [1, sh.hq, sh.past, sh.d]), floatInput('past_value', [1, sh.hq, sh.past, sh.d]),
    ],
    outputs: outputs(sh),
  }, [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }]);
}
