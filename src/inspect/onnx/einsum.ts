/**
 * Attention written as Einsum, as tf2onnx leaves Keras' MultiHeadAttention
 * (`aecd,abcd->acbe` of key and query, then `acbe,aecd->abcd` of the
 * weights and value) and torch.onnx leaves torch.einsum:
 *
 *   scores[batch…, l, s] = Σ_d q[…, l, …, d] · k[…, s, …, d]
 *
 * An equation is q·kᵀ when its output's last two letters are the query and
 * key positions (l, s), exactly one letter (d) is summed away, one operand
 * holds l and the other s, and every other letter (batch, heads) is in both
 * operands and the output. The permutations bring the captured operands to
 * the [batch…, l, d] and [batch…, d, s] that a MatMul of q and kᵀ takes.
 */
export interface EinsumScores {
  /** Which operand is q (the other is k). */
  qInput: 0 | 1;
  /** Axes of the q operand in the order [batch…, l, d], and of the k operand in [batch…, d, s]. */
  qPerm: number[];
  kPerm: number[];
}

function parse(equation: string): [string, string, string] | null {
  const m = /^([A-Za-z]+),([A-Za-z]+)->([A-Za-z]+)$/.exec(equation.replace(/\s+/g, ''));
  if (m === null) return null;
  const [, a, b, out] = m;
  const unique = (t: string): boolean => new Set(t).size === t.length;
  return unique(a) && unique(b) && unique(out) ? [a, b, out] : null;
}

/** The Einsum's q and k and how to lay them out, or null where the equation is not q·kᵀ over one summed axis. */
export function scoreEinsum(equation: string): EinsumScores | null {
  const parsed = parse(equation);
  if (parsed === null) return null;
  const [a, b, out] = parsed;
  if (out.length < 2) return null;
  const [l, s] = [out[out.length - 2], out[out.length - 1]];
  const summed = [...a].filter((c) => b.includes(c) && !out.includes(c));
  if (summed.length !== 1) return null;
  const d = summed[0];
  const qInput = a.includes(l) && !a.includes(s) && b.includes(s) && !b.includes(l) ? 0 : b.includes(l) && !b.includes(s) && a.includes(s) && !a.includes(l) ? 1 : null;
  if (qInput === null) return null;
  const [qs, ks] = qInput === 0 ? [a, b] : [b, a];
  const batch = out.slice(0, -2);
  if (qs.length !== batch.length + 2 || ks.length !== batch.length + 2 || [...batch].some((c) => !qs.includes(c) || !ks.includes(c))) return null;
  return { qInput, qPerm: [...batch, l, d].map((c) => qs.indexOf(c)), kPerm: [...batch, d, s].map((c) => ks.indexOf(c)) };
}

/** Whether an Einsum multiplies the weights (its operand `at`) by values: the weights' last letter (the keys) is summed with the other operand's. */
export function valuesEinsum(equation: string, at: number): boolean {
  const parsed = parse(equation);
  if (parsed === null || (at !== 0 && at !== 1)) return false;
  const [a, b, out] = parsed;
  const [p, v] = at === 0 ? [a, b] : [b, a];
  const keys = p[p.length - 1];
  return v.includes(keys) && !out.includes(keys);
}

/** A row-major tensor with its axes permuted: out's axis i is the input's axis perm[i]. */
export function permuted<T extends { dims: number[]; data: Float32Array | Float64Array }>(t: T, perm: number[]): T {
  if (perm.every((p, i) => p === i)) return t;
  const dims = perm.map((p) => t.dims[p]);
  const inStrides = t.dims.map((_, i) => t.dims.slice(i + 1).reduce((x, y) => x * y, 1));
  const data = new Float64Array(t.data.length);
  const index = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < data.length; o++) {
    let from = 0;
    for (let i = 0; i < dims.length; i++) from += index[i] * inStrides[perm[i]];
    data[o] = t.data[from];
    for (let i = dims.length - 1; i >= 0 && ++index[i] === dims[i]; i--) index[i] = 0;
  }
  return { ...t, dims, data };
}
