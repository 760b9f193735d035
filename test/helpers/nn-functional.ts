import { Var, result, type Data } from '../../src/nn/autograd.js';

/** Σ r ⊙ y as a graph node, so backward() gives the gradient of a scalar that reaches every element of y. */
export function weighted(y: Var, r: Float64Array): Var {
  let s = 0;
  for (let i = 0; i < y.size; i++) s += r[i] * y.data[i];
  const out: Var = result(new Float64Array([s]), [], [y], () => {
    const g = y.gradBuffer();
    for (let i = 0; i < g.length; i++) g[i] += (out.grad as Data)[0] * r[i];
  });
  return out;
}
