import { ScaledotError, formatShape } from '../tensor/index.js';
import { Var, allocLike, result, type Data } from './autograd.js';

/**
 * Rotary position embedding (Su et al., RoFormer), half-split form:
 * for pair i < D/2 of a head vector at position p, with θᵢ = base^(−2i/D),
 *
 *   y[i]       = x[i] cos(pθᵢ) − x[i + D/2] sin(pθᵢ)
 *   y[i + D/2] = x[i] sin(pθᵢ) + x[i + D/2] cos(pθᵢ)
 *
 * Rotating q and k by their positions makes q·k depend only on the offset
 * between them, and nothing is learnt per position: that is what lets a
 * model trained at one length run at lengths it never saw. The backward is
 * the rotation by −pθᵢ (a rotation's inverse is its transpose). Position p
 * of x is `offset + t` for its row t: decoding with a KV cache rotates the
 * new rows by where they sit in the whole sequence.
 */
export function rope(x: Var, base = 10000, offset = 0): Var {
  if (x.shape.length !== 4 || x.shape[3] % 2 !== 0) {
    throw new ScaledotError('E_SHAPE', `rope: x has shape ${formatShape(x.shape)}; expected [B, H, T, D] with D even`);
  }
  const [b, h, t, d] = x.shape;
  const { cos, sin } = rotationTable(offset + t, d, base);
  const out = allocLike(x.data, x.size);
  rotate(x.data, out, b * h, t, d, offset, cos, sin, 1);
  const y: Var = result(out, x.shape, [x], () => {
    rotate(y.grad as Data, x.gradBuffer(), b * h, t, d, offset, cos, sin, -1);
  });
  return y;
}

/** Adds the rotation of src by sign·pθ into dst. */
function rotate(
  src: Data, dst: Data, bh: number, t: number, d: number, offset: number, cos: Float64Array, sin: Float64Array, sign: 1 | -1,
): void {
  const half = d / 2;
  for (let s = 0; s < bh; s++) {
    for (let p = 0; p < t; p++) {
      const o = (s * t + p) * d;
      const c = (offset + p) * half;
      for (let i = 0; i < half; i++) {
        const x1 = src[o + i];
        const x2 = src[o + i + half];
        const cs = cos[c + i];
        const sn = sign * sin[c + i];
        dst[o + i] += x1 * cs - x2 * sn;
        dst[o + i + half] += x1 * sn + x2 * cs;
      }
    }
  }
}

const tables = new Map<string, { cos: Float64Array; sin: Float64Array; positions: number }>();

/**
 * cos and sin of pθᵢ for at least the positions p < t, i < d/2; memoised per
 * (d, base) because every layer and step asks again, and grown by doubling
 * (entry p does not depend on the table's size), so decoding one position at
 * a time keeps one table rather than one per length.
 */
function rotationTable(t: number, d: number, base: number): { cos: Float64Array; sin: Float64Array } {
  const key = `${d}:${base}`;
  let table = tables.get(key);
  if (table === undefined || table.positions < t) {
    t = Math.max(t, 2 * (table?.positions ?? 0));
    const half = d / 2;
    const cos = new Float64Array(t * half);
    const sin = new Float64Array(t * half);
    for (let p = 0; p < t; p++) {
      for (let i = 0; i < half; i++) {
        const angle = p * base ** (-(2 * i) / d);
        cos[p * half + i] = Math.cos(angle);
        sin[p * half + i] = Math.sin(angle);
      }
    }
    table = { cos, sin, positions: t };
    tables.set(key, table);
  }
  return table;
}
