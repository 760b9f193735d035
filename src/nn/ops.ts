import { ScaledotError, formatShape } from '../tensor/index.js';
import { Var, allocLike, result, type Data } from './autograd.js';
import { matmulABtAdd, matmulAdd, matmulAtBAdd } from './matmul.js';

// Differentiable ops on the last axis of a [..., D] array, each with the formula first. Loops are
// written out (no views, no broadcasting machinery): these run millions of times per training run.

function lastDim(fn: string, arg: string, x: Var): number {
  if (x.shape.length === 0) throw new ScaledotError('E_SHAPE', `${fn}: ${arg} is a scalar; expected shape [..., D]`);
  return x.shape[x.shape.length - 1];
}

function requireShape(fn: string, arg: string, x: Var, shape: readonly number[]): void {
  if (x.shape.length !== shape.length || x.shape.some((d, i) => d !== shape[i])) {
    throw new ScaledotError('E_SHAPE', `${fn}: ${arg} has shape ${formatShape(x.shape)}; expected ${formatShape(shape)}`);
  }
}

/**
 * linear(x, W, b) = x W + b,   x: [..., in], W: [in, out], b: [out]
 * dx = dy Wᵀ,  dW = xᵀ dy,  db = Σ_rows dy.
 * W is stored [in, out] so the forward inner loop runs along a row of W.
 */
export function linear(x: Var, w: Var, b: Var | null = null): Var {
  const fn = 'linear';
  const nIn = lastDim(fn, 'x', x);
  if (w.shape.length !== 2 || w.shape[0] !== nIn) {
    throw new ScaledotError('E_SHAPE', `${fn}: weight has shape ${formatShape(w.shape)} but x has shape ${formatShape(x.shape)}; expected [${nIn}, out]`);
  }
  const nOut = w.shape[1];
  if (b !== null) requireShape(fn, 'bias', b, [nOut]);
  const rows = x.size / nIn;
  const out = allocLike(x.data, rows * nOut);
  if (b !== null) for (let i = 0; i < rows; i++) out.set(b.data, i * nOut);
  matmulAdd(x.data, w.data, out, rows, nIn, nOut);
  const shape = [...x.shape.slice(0, -1), nOut];
  const parents = b === null ? [x, w] : [x, w, b];
  const y: Var = result(out, shape, parents, () => {
    const dy = y.grad as Data;
    if (x.requiresGrad) matmulABtAdd(dy, w.data, x.gradBuffer(), rows, nOut, nIn);
    if (w.requiresGrad) matmulAtBAdd(x.data, dy, w.gradBuffer(), rows, nIn, nOut);
    if (b !== null && b.requiresGrad) {
      const db = b.gradBuffer();
      for (let i = 0; i < rows; i++) for (let j = 0; j < nOut; j++) db[j] += dy[i * nOut + j];
    }
  });
  return y;
}

/** add(a, b) = a + b, same shapes (residual connections). */
export function add(a: Var, b: Var): Var {
  requireShape('add', 'b', b, a.shape);
  const out = allocLike(a.data, a.size);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
  const y: Var = result(out, a.shape, [a, b], () => {
    const dy = y.grad as Data;
    for (const p of [a, b]) {
      if (!p.requiresGrad) continue;
      const g = p.gradBuffer();
      for (let i = 0; i < g.length; i++) g[i] += dy[i];
    }
  });
  return y;
}

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * gelu(x) = ½ x (1 + tanh(c (x + 0.044715 x³))),  c = √(2/π)   (the tanh form, as GPT-2)
 * gelu'(x) = ½ (1 + t) + ½ x (1 − t²) c (1 + 3·0.044715 x²),  t = tanh(…)
 */
export function gelu(x: Var): Var {
  const out = allocLike(x.data, x.size);
  const t = new Float64Array(x.size);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i];
    t[i] = Math.tanh(GELU_C * (v + 0.044715 * v * v * v));
    out[i] = 0.5 * v * (1 + t[i]);
  }
  const y: Var = result(out, x.shape, [x], () => {
    const dy = y.grad as Data;
    const dx = x.gradBuffer();
    for (let i = 0; i < dx.length; i++) {
      const v = x.data[i];
      const ti = t[i];
      dx[i] += dy[i] * (0.5 * (1 + ti) + 0.5 * v * (1 - ti * ti) * GELU_C * (1 + 3 * 0.044715 * v * v));
    }
  });
  return y;
}

/**
 * layerNorm(x) = γ ⊙ (x − μ) / σ + β over the last axis, σ = √(var + ε).
 * With x̂ = (x − μ)/σ and g = dy ⊙ γ:  dx = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / σ.
 */
export function layerNorm(x: Var, gamma: Var, beta: Var, eps = 1e-5): Var {
  const fn = 'layerNorm';
  const d = lastDim(fn, 'x', x);
  requireShape(fn, 'gamma', gamma, [d]);
  requireShape(fn, 'beta', beta, [d]);
  const rows = x.size / d;
  const xhat = new Float64Array(x.size);
  const invStd = new Float64Array(rows);
  const out = allocLike(x.data, x.size);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mean = 0;
    for (let j = 0; j < d; j++) mean += x.data[o + j];
    mean /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x.data[o + j] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    invStd[r] = inv;
    for (let j = 0; j < d; j++) {
      const h = (x.data[o + j] - mean) * inv;
      xhat[o + j] = h;
      out[o + j] = gamma.data[j] * h + beta.data[j];
    }
  }
  const y: Var = result(out, x.shape, [x, gamma, beta], () => {
    const dy = y.grad as Data;
    normBackward(x, gamma, dy, xhat, invStd, d, true);
    if (beta.requiresGrad) {
      const db = beta.gradBuffer();
      for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) db[j] += dy[r * d + j];
    }
  });
  return y;
}

/**
 * rmsNorm(x) = γ ⊙ x / r over the last axis, r = √(mean(x²) + ε).
 * With x̂ = x/r and g = dy ⊙ γ:  dx = (g − x̂ · mean(g ⊙ x̂)) / r.
 */
export function rmsNorm(x: Var, gamma: Var, eps = 1e-6): Var {
  const fn = 'rmsNorm';
  const d = lastDim(fn, 'x', x);
  requireShape(fn, 'gamma', gamma, [d]);
  const rows = x.size / d;
  const xhat = new Float64Array(x.size);
  const invRms = new Float64Array(rows);
  const out = allocLike(x.data, x.size);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x.data[o + j] ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    invRms[r] = inv;
    for (let j = 0; j < d; j++) {
      xhat[o + j] = x.data[o + j] * inv;
      out[o + j] = gamma.data[j] * xhat[o + j];
    }
  }
  const y: Var = result(out, x.shape, [x, gamma], () => {
    normBackward(x, gamma, y.grad as Float64Array, xhat, invRms, d, false);
  });
  return y;
}

/** The shared backward of layerNorm (centred) and rmsNorm (not centred). */
function normBackward(x: Var, gamma: Var, dy: Data, xhat: Float64Array, inv: Float64Array, d: number, centred: boolean): void {
  const rows = inv.length;
  if (gamma.requiresGrad) {
    const dg = gamma.gradBuffer();
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) dg[j] += dy[r * d + j] * xhat[r * d + j];
  }
  if (!x.requiresGrad) return;
  const dx = x.gradBuffer();
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let meanG = 0;
    let meanGx = 0;
    for (let j = 0; j < d; j++) {
      const g = dy[o + j] * gamma.data[j];
      meanG += g;
      meanGx += g * xhat[o + j];
    }
    meanG = centred ? meanG / d : 0;
    meanGx /= d;
    for (let j = 0; j < d; j++) dx[o + j] += (dy[o + j] * gamma.data[j] - meanG - xhat[o + j] * meanGx) * inv[r];
  }
}

/**
 * embedding(table, ids) = table[ids],  table: [V, D], ids: [...] → [..., D]
 * dtable[v] = Σ over positions holding v of dy.
 */
export function embedding(table: Var, ids: Int32Array, idsShape: readonly number[]): Var {
  const fn = 'embedding';
  if (table.shape.length !== 2) throw new ScaledotError('E_SHAPE', `${fn}: table has shape ${formatShape(table.shape)}; expected [vocab, dim]`);
  const [vocab, d] = table.shape;
  const out = allocLike(table.data, ids.length * d);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < vocab)) throw new ScaledotError('E_ARG', `${fn}: id ${id} at position ${i} is outside the vocabulary [0, ${vocab})`);
    out.set(table.data.subarray(id * d, id * d + d), i * d);
  }
  const y: Var = result(out, [...idsShape, d], [table], () => {
    const dy = y.grad as Data;
    const dt = table.gradBuffer();
    for (let i = 0; i < ids.length; i++) {
      const o = ids[i] * d;
      for (let j = 0; j < d; j++) dt[o + j] += dy[i * d + j];
    }
  });
  return y;
}

/**
 * l2Normalize(x) = x / ‖x‖ over the last axis (‖x‖ = √(Σx² + ε)).
 * dx = (dy − y (y · dy)) / ‖x‖.
 */
export function l2Normalize(x: Var, eps = 1e-12): Var {
  const d = lastDim('l2Normalize', 'x', x);
  const rows = x.size / d;
  const out = allocLike(x.data, x.size);
  const inv = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x.data[r * d + j] ** 2;
    inv[r] = 1 / Math.sqrt(ss + eps);
    for (let j = 0; j < d; j++) out[r * d + j] = x.data[r * d + j] * inv[r];
  }
  const y: Var = result(out, x.shape, [x], () => {
    const dy = y.grad as Data;
    const dx = x.gradBuffer();
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      let dot = 0;
      for (let j = 0; j < d; j++) dot += out[o + j] * dy[o + j];
      for (let j = 0; j < d; j++) dx[o + j] += (dy[o + j] - out[o + j] * dot) * inv[r];
    }
  });
  return y;
}

/**
 * previousEmbedding(table, ids)[b, t] = table[ids[b, t − 1]], zeros at t = 0;
 * ids: [B, T] → [B, T, D]. A token shift: each position also sees the token
 * before it without spending an attention layer on finding it.
 */
export function previousEmbedding(table: Var, ids: Int32Array, batch: number, length: number): Var {
  const fn = 'previousEmbedding';
  if (table.shape.length !== 2) throw new ScaledotError('E_SHAPE', `${fn}: table has shape ${formatShape(table.shape)}; expected [vocab, dim]`);
  if (ids.length !== batch * length) throw new ScaledotError('E_SHAPE', `${fn}: ${ids.length} ids do not fill [${batch}, ${length}]`);
  const [vocab, d] = table.shape;
  const out = allocLike(table.data, ids.length * d);
  for (let b = 0; b < batch; b++) {
    for (let t = 1; t < length; t++) {
      const id = ids[b * length + t - 1];
      if (!(id >= 0 && id < vocab)) throw new ScaledotError('E_ARG', `${fn}: id ${id} is outside the vocabulary [0, ${vocab})`);
      out.set(table.data.subarray(id * d, id * d + d), (b * length + t) * d);
    }
  }
  const y: Var = result(out, [batch, length, d], [table], () => {
    const dy = y.grad as Data;
    const dt = table.gradBuffer();
    for (let b = 0; b < batch; b++) {
      for (let t = 1; t < length; t++) {
        const o = ids[b * length + t - 1] * d;
        const g = (b * length + t) * d;
        for (let j = 0; j < d; j++) dt[o + j] += dy[g + j];
      }
    }
  });
  return y;
}
