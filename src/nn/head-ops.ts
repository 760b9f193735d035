import { ScaledotError, formatShape } from '../tensor/index.js';
import { Var, allocLike, result, type Data } from './autograd.js';

// Moving between the model's layout [B, T, H·D] and attention's [B, H, T, D].
// Both are permutations, so each one's backward is the other.

function permuteBTHD(src: Data, dst: Data, b: number, t: number, h: number, d: number, toHeads: boolean): void {
  for (let bi = 0; bi < b; bi++) {
    for (let ti = 0; ti < t; ti++) {
      for (let hi = 0; hi < h; hi++) {
        const model = ((bi * t + ti) * h + hi) * d;
        const heads = ((bi * h + hi) * t + ti) * d;
        for (let j = 0; j < d; j++) {
          if (toHeads) dst[heads + j] += src[model + j];
          else dst[model + j] += src[heads + j];
        }
      }
    }
  }
}

/** splitHeads(x) : [B, T, H·D] → [B, H, T, D]. */
export function splitHeads(x: Var, heads: number): Var {
  if (x.shape.length !== 3 || x.shape[2] % heads !== 0) {
    throw new ScaledotError('E_SHAPE', `splitHeads: x has shape ${formatShape(x.shape)}; expected [B, T, H·D] with H = ${heads} dividing the last dimension`);
  }
  const [b, t, w] = x.shape;
  const d = w / heads;
  const out = allocLike(x.data, x.size);
  permuteBTHD(x.data, out, b, t, heads, d, true);
  const y: Var = result(out, [b, heads, t, d], [x], () => {
    permuteBTHD(y.grad as Data, x.gradBuffer(), b, t, heads, d, false);
  });
  return y;
}

/** mergeHeads(x) : [B, H, T, D] → [B, T, H·D]. */
export function mergeHeads(x: Var): Var {
  if (x.shape.length !== 4) throw new ScaledotError('E_SHAPE', `mergeHeads: x has shape ${formatShape(x.shape)}; expected [B, H, T, D]`);
  const [b, h, t, d] = x.shape;
  const out = allocLike(x.data, x.size);
  permuteBTHD(x.data, out, b, t, h, d, false);
  const y: Var = result(out, [b, t, h * d], [x], () => {
    permuteBTHD(y.grad as Data, x.gradBuffer(), b, t, h, d, true);
  });
  return y;
}

/**
 * lastRow(x) : [..., T, D] → [..., 1, D], the last position only. A model
 * whose loss reads only the last position (a set task) needs only that row
 * from its final attention, so the cost is O(T), not O(T²), at long lengths.
 */
export function lastRow(x: Var): Var {
  if (x.shape.length < 2 || x.shape[x.shape.length - 2] < 1) {
    throw new ScaledotError('E_SHAPE', `lastRow: x has shape ${formatShape(x.shape)}; expected [..., T, D] with T >= 1`);
  }
  const t = x.shape[x.shape.length - 2];
  const d = x.shape[x.shape.length - 1];
  const blocks = x.size / (t * d);
  const out = allocLike(x.data, blocks * d);
  for (let b = 0; b < blocks; b++) out.set(x.data.subarray((b * t + t - 1) * d, (b * t + t) * d), b * d);
  const y: Var = result(out, [...x.shape.slice(0, -2), 1, d], [x], () => {
    const dy = y.grad as Data;
    const dx = x.gradBuffer();
    for (let b = 0; b < blocks; b++) for (let j = 0; j < d; j++) dx[(b * t + t - 1) * d + j] += dy[b * d + j];
  });
  return y;
}

/**
 * scaleHeads(x, logTau) = x · exp(logTau[h]),  x: [B, H, T, D], logTau: [H]
 * A per-head positive temperature, learnt in log space so it stays positive
 * and Adam's steps change it by a ratio. d logTau[h] = Σ dy ⊙ y over head h.
 */
export function scaleHeads(x: Var, logTau: Var): Var {
  const fn = 'scaleHeads';
  if (x.shape.length !== 4) throw new ScaledotError('E_SHAPE', `${fn}: x has shape ${formatShape(x.shape)}; expected [B, H, T, D]`);
  const [b, h, t, d] = x.shape;
  if (logTau.shape.length !== 1 || logTau.shape[0] !== h) {
    throw new ScaledotError('E_SHAPE', `${fn}: logTau has shape ${formatShape(logTau.shape)}; expected [${h}]`);
  }
  const block = t * d;
  const out = allocLike(x.data, x.size);
  for (let bh = 0; bh < b * h; bh++) {
    const s = Math.exp(logTau.data[bh % h]);
    for (let i = bh * block; i < (bh + 1) * block; i++) out[i] = x.data[i] * s;
  }
  const y: Var = result(out, x.shape, [x, logTau], () => {
    const dy = y.grad as Data;
    const dx = x.requiresGrad ? x.gradBuffer() : null;
    const dl = logTau.requiresGrad ? logTau.gradBuffer() : null;
    for (let bh = 0; bh < b * h; bh++) {
      const s = Math.exp(logTau.data[bh % h]);
      let acc = 0;
      for (let i = bh * block; i < (bh + 1) * block; i++) {
        if (dx !== null) dx[i] += dy[i] * s;
        acc += dy[i] * out[i];
      }
      if (dl !== null) dl[bh % h] += acc;
    }
  });
  return y;
}
