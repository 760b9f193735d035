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
