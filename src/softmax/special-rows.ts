import type { StridedRow } from './rows.js';

/**
 * Rows whose maximum is not finite, where x − max is undefined (∞ − ∞), get
 * their values by definition rather than by the formula:
 *
 * - a NaN anywhere: every output NaN (NaN in, NaN out);
 * - every entry −∞ (a fully masked row) or an empty row: softmax 0 everywhere,
 *   logSoftmax −∞ everywhere, logsumexp −∞ (the log of an empty sum);
 * - k entries +∞: they share the mass, softmax 1/k there and 0 elsewhere,
 *   logSoftmax −ln k there and −∞ elsewhere, logsumexp +∞. This is the limit
 *   of softmax(x) as those k entries grow together without bound.
 */

/** The row maximum; NaN if any entry is NaN; −∞ for an empty row. */
export function rowMax(x: StridedRow): number {
  const { data, offset, length, stride } = x;
  let m = -Infinity;
  for (let i = 0, p = offset; i < length; i++, p += stride) {
    const v = data[p];
    if (v > m) m = v;
    else if (v !== v) return NaN;
  }
  return m;
}

function countPositiveInfinity(x: StridedRow): number {
  const { data, offset, length, stride } = x;
  let k = 0;
  for (let i = 0, p = offset; i < length; i++, p += stride) if (data[p] === Infinity) k++;
  return k;
}

/** Writes out[i] = atInfinity where x[i] is +∞ and elsewhere otherwise. */
function fillByInfinity(x: StridedRow, out: StridedRow, atInfinity: number, elsewhere: number): void {
  const { data, offset, length, stride } = x;
  const o = out.data;
  for (let i = 0, p = offset, q = out.offset; i < length; i++, p += stride, q += out.stride) {
    o[q] = data[p] === Infinity ? atInfinity : elsewhere;
  }
}

/** Writes the softmax of a row whose max `m` is not finite; false (nothing written) if m is finite. */
export function softmaxSpecialRow(x: StridedRow, out: StridedRow, m: number, store: (v: number) => number): boolean {
  if (m !== m) fillByInfinity(x, out, NaN, NaN);
  else if (m === -Infinity) fillByInfinity(x, out, 0, 0);
  else if (m === Infinity) fillByInfinity(x, out, store(1 / countPositiveInfinity(x)), 0);
  else return false;
  return true;
}

/** Writes the logSoftmax of a row whose max `m` is not finite; false (nothing written) if m is finite. */
export function logSoftmaxSpecialRow(x: StridedRow, out: StridedRow, m: number, store: (v: number) => number): boolean {
  if (m !== m) fillByInfinity(x, out, NaN, NaN);
  else if (m === -Infinity) fillByInfinity(x, out, -Infinity, -Infinity);
  else if (m === Infinity) fillByInfinity(x, out, store(-Math.log(countPositiveInfinity(x))), -Infinity);
  else return false;
  return true;
}
