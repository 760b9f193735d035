import { ScaledotError, formatShape } from '../tensor/index.js';
import { Var, allocLike, result, type Data } from './autograd.js';

/**
 * Softmax with a sink: a logit per head that joins every row's normaliser but
 * carries no value, so a head can attend to "nothing".
 *
 *   pᵢⱼ = exp(xᵢⱼ) / (exp(b_h) + Σₖ exp(xᵢₖ)),   x: [B, H, T, S], b: [H]
 *
 * `sink` null is Miller's softmax₁ ("off by one"): b_h = 0 for every head.
 * Rows then sum to 1 − p_sink, with p_sink = exp(b_h)/(…). Max-subtracted over
 * the row and the sink together, so neither can overflow; a fully masked row
 * (all −∞) puts everything on the sink and gives zeros.
 *
 * Backward, with g = Σⱼ pⱼ dyⱼ (the sink has no output, so no dy):
 *   dxⱼ = pⱼ (dyⱼ − g),   db_h = −Σ_rows p_sink · g.
 */
export function sinkSoftmax(x: Var, sink: Var | null): Var {
  const fn = 'sinkSoftmax';
  if (x.shape.length !== 4) throw new ScaledotError('E_SHAPE', `${fn}: x has shape ${formatShape(x.shape)}; expected [B, H, T, S]`);
  const [b, h, t, s] = x.shape;
  if (sink !== null && (sink.shape.length !== 1 || sink.shape[0] !== h)) {
    throw new ScaledotError('E_SHAPE', `${fn}: sink has shape ${formatShape(sink.shape)} but x has ${h} heads; expected [${h}]`);
  }
  const rows = b * h * t;
  const out = allocLike(x.data, x.size);
  const sinkShare = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const bias = sink === null ? 0 : sink.data[Math.floor(r / t) % h];
    const o = r * s;
    let m = bias;
    for (let j = 0; j < s; j++) if (x.data[o + j] > m) m = x.data[o + j];
    let l = Math.exp(bias - m);
    for (let j = 0; j < s; j++) {
      const e = Math.exp(x.data[o + j] - m);
      out[o + j] = e;
      l += e;
    }
    for (let j = 0; j < s; j++) out[o + j] /= l;
    sinkShare[r] = Math.exp(bias - m) / l;
  }
  const y: Var = result(out, x.shape, sink === null ? [x] : [x, sink], () => {
    const dy = y.grad as Data;
    const dx = x.requiresGrad ? x.gradBuffer() : null;
    const db = sink !== null && sink.requiresGrad ? sink.gradBuffer() : null;
    for (let r = 0; r < rows; r++) {
      const o = r * s;
      let g = 0;
      for (let j = 0; j < s; j++) g += out[o + j] * dy[o + j];
      if (dx !== null) for (let j = 0; j < s; j++) dx[o + j] += out[o + j] * (dy[o + j] - g);
      if (db !== null) db[Math.floor(r / t) % h] -= sinkShare[r] * g;
    }
  });
  return y;
}
