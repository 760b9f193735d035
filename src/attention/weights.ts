import { ScaledotError, Tensor, checkBufferSize, formatShape, rounder } from '../tensor/index.js';
import { prepareAttention, type AttentionOptions } from './options.js';
import { rowScores, softmaxInPlace } from './reference.js';

/**
 * The attention weights themselves, P (..., Hq, L, S), under the same options
 * as scaledDotProductAttention (softcap, ALiBi, masks, keyLengths, sinks):
 * row i of head h is softmax over j of the scores, with the sink in the
 * denominator, so with sinks a row sums to 1 − p_sink rather than 1 (there is
 * no sink column). A fully masked row is zeros.
 *
 * This is the slow path on purpose: it materialises L × S values per head
 * through the float64 reference, for looking at the weights, not for speed.
 * dropoutP must be 0 or absent (the weights are those before dropout); impl
 * is accepted but does not matter: every backend computes the same P.
 */
export function attentionWeights(query: Tensor, key: Tensor, value: Tensor, options?: AttentionOptions): Tensor {
  const fn = 'attentionWeights';
  const p = prepareAttention(fn, query, key, value, options);
  if (p.dropoutP !== 0) {
    throw new ScaledotError('E_OPTION', `${fn}: dropoutP is ${p.dropoutP}; the weights are defined without dropout, so it must be 0 or absent`);
  }
  const { batch, hq, l, s } = p;
  const shape = [...query.shape.slice(0, -1), s];
  checkBufferSize(fn, `the weights (..., Hq, L, S) = ${formatShape(shape)}`, batch * hq * l * s, p.dtype === 'float64' ? 8 : 4, p.dtype);
  const out = p.dtype === 'float64' ? new Float64Array(batch * hq * l * s) : new Float32Array(batch * hq * l * s);
  const round = p.dtype === 'float64' ? (x: number) => x : rounder(p.dtype);
  const row = new Float64Array(s);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < hq; h++) {
      for (let i = 0; i < l; i++) {
        rowScores(p, b, h, i, row);
        softmaxInPlace(row, p.sinks ? p.sinks[h] : -Infinity);
        const at = ((b * hq + h) * l + i) * s;
        for (let j = 0; j < s; j++) out[at + j] = round(row[j]);
      }
    }
  }
  return new Tensor(out, shape, p.dtype);
}
