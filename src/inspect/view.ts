import { ScaledotError, formatShape } from '../tensor/index.js';
import type { TensorData } from './stored.js';

export const LAYOUTS = ['bhld', 'blhd'] as const;
export type Layout = (typeof LAYOUTS)[number];

/**
 * Where Q's or K's values sit, without moving them: element (b, h, l, d) is
 * at b·strideB + h·strideH + l·strideL + d. bhld is (batch, heads, length,
 * headDim); blhd is (batch, length, heads, headDim), which is also what a
 * rank-3 (batch, length, heads·headDim) projection output is once the heads are known.
 */
export interface HeadsShape {
  batch: number;
  heads: number;
  length: number;
  dim: number;
  strideB: number;
  strideH: number;
  strideL: number;
}

export interface QkView extends HeadsShape {
  data: TensorData;
}

/** The heads shape of a tensor: rank 4 in `layout`, or rank 3 (B, L, H·D) with `heads` given. */
export function headsShape(what: string, shape: readonly number[], layout: Layout, heads: number | undefined, headsFlag: string): HeadsShape {
  if (shape.length === 4) {
    const [b, x, y, d] = shape;
    const [h, l] = layout === 'bhld' ? [x, y] : [y, x];
    if (heads !== undefined && heads !== h) {
      throw new ScaledotError('E_SHAPE', `${what} has shape ${formatShape(shape)}, which in layout ${layout} has ${h} heads, but ${headsFlag} is ${heads}`);
    }
    return layout === 'bhld'
      ? { batch: b, heads: h, length: l, dim: d, strideB: h * l * d, strideH: l * d, strideL: d }
      : { batch: b, heads: h, length: l, dim: d, strideB: l * h * d, strideH: d, strideL: h * d };
  }
  if (shape.length === 3) {
    const [b, l, width] = shape;
    if (heads === undefined) {
      throw new ScaledotError('E_SHAPE', `${what} has shape ${formatShape(shape)}: rank 3 is read as (batch, length, heads·headDim) and needs ${headsFlag} to split the heads`);
    }
    if (width % heads !== 0) throw new ScaledotError('E_SHAPE', `${what} has shape ${formatShape(shape)}; ${headsFlag} ${heads} does not divide its last dimension ${width}`);
    const d = width / heads;
    return { batch: b, heads, length: l, dim: d, strideB: l * width, strideH: d, strideL: width };
  }
  throw new ScaledotError('E_SHAPE', `${what} has shape ${formatShape(shape)}; expected rank 4 (layout ${LAYOUTS.join(' or ')}) or rank 3 (batch, length, heads·headDim)`);
}

/**
 * Q and K must agree on batch and headDim, and K's heads must divide Q's
 * (GQA: query head h reads key head floor(h / (Hq / Hkv))). With `causal`
 * (bottom-right: query i sees key j ≤ i + S − L) L > S would leave rows with no key.
 */
export function checkPair(layer: string, qWhat: string, kWhat: string, q: HeadsShape, k: HeadsShape, causal: boolean): void {
  const show = (s: HeadsShape): string => `(batch ${s.batch}, heads ${s.heads}, length ${s.length}, headDim ${s.dim})`;
  const both = `layer ${layer}: ${qWhat} is ${show(q)} and ${kWhat} is ${show(k)}`;
  if (q.batch !== k.batch) throw new ScaledotError('E_SHAPE', `inspect: ${both}; their batch sizes must match`);
  if (q.dim !== k.dim) throw new ScaledotError('E_SHAPE', `inspect: ${both}; their head dims must match (where K has fewer heads than Q, give --kv-heads)`);
  if (k.heads === 0 || q.heads % k.heads !== 0) throw new ScaledotError('E_SHAPE', `inspect: ${both}; K's heads must divide Q's (GQA)`);
  if (q.dim === 0 || q.length === 0 || k.length === 0 || q.batch === 0) throw new ScaledotError('E_SHAPE', `inspect: ${both}; nothing to inspect in an empty tensor`);
  if (causal && q.length > k.length) {
    throw new ScaledotError('E_SHAPE', `inspect: ${both}; with --causal (bottom-right) L = ${q.length} > S = ${k.length} leaves the first ${q.length - k.length} queries no key`);
  }
}
