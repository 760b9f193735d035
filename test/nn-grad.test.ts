import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/tensor/index.js';
import { Var, backward, constant, parameter, result, type Data } from '../src/nn/autograd.js';
import {
  attentionScores, causalAttention, causalMask, softcap, softcapAttention, softmaxLast, weightedValues,
} from '../src/nn/attention-ops.js';
import { MultiHeadAttention } from '../src/nn/attention-layer.js';
import { mergeHeads, splitHeads } from '../src/nn/head-ops.js';
import { Embedding, Linear, LayerNorm, MLP, RMSNorm } from '../src/nn/layers.js';
import { crossEntropy, IGNORE } from '../src/nn/loss.js';
import { add, embedding, gelu, l2Normalize, layerNorm, linear, previousEmbedding, rmsNorm } from '../src/nn/ops.js';
import { scaleHeads } from '../src/nn/head-ops.js';
import { rope } from '../src/nn/rope.js';
import { SCALE_RULES } from '../src/nn/scale-rules.js';
import { Transformer } from '../src/nn/transformer.js';
import { finiteDifferenceGradient } from './helpers/finite-diff.js';

// Every op and layer: the gradient from backward() against central finite
// differences (helpers/finite-diff.ts) of a random linear functional of the
// output, in float64. With h = 1e-5 the truncation error is ~h² and the
// rounding error ~1e-16/h, so 1e-6 relative agreement is a real check.

function randomData(rng: Rng, n: number, std = 1): Float64Array {
  return Float64Array.from({ length: n }, () => std * rng.normal());
}

function randomParam(rng: Rng, shape: number[], std = 1): Var {
  return parameter(randomData(rng, shape.reduce((a, b) => a * b, 1), std), shape);
}

/** L = Σ r ⊙ y for fixed random r: its gradient exercises every output element. */
function functional(y: Var, r: Float64Array): Var {
  let s = 0;
  for (let i = 0; i < y.size; i++) s += r[i] * y.data[i];
  const out: Var = result(new Float64Array([s]), [], [y], () => {
    const g = y.gradBuffer();
    const d = (out.grad as Data)[0];
    for (let i = 0; i < g.length; i++) g[i] += d * r[i];
  });
  return out;
}

/**
 * Checks d/dx of Σ r ⊙ f() for every x in `inputs` at up to `samples`
 * coordinates each, against the shared central finite differences. f must
 * rebuild the graph from the inputs' current data.
 */
function checkGradients(name: string, inputs: Var[], f: () => Var, options: { samples?: number; seed?: number; tol?: number } = {}): void {
  const { samples = 12, seed = 99, tol = 1e-6 } = options;
  const rng = new Rng(seed);
  const y0 = f();
  const r = randomData(rng, y0.size);
  for (const x of inputs) x.grad = null;
  backward(functional(y0, r));
  const analytic = inputs.map((x) => Float64Array.from(x.grad ?? new Float64Array(x.size)));
  inputs.forEach((x, xi) => {
    const indices = x.size <= samples ? Array.from({ length: x.size }, (_, i) => i) : Array.from({ length: samples }, () => rng.int(x.size));
    const original = Float64Array.from(x.data);
    const numeric = finiteDifferenceGradient((probe) => {
      x.data.set(probe);
      return functional(f(), r).data[0];
    }, original, { indices });
    x.data.set(original);
    for (const i of indices) {
      const got = analytic[xi][i];
      assert.ok(
        Math.abs(got - numeric[i]) <= tol * Math.max(1, Math.abs(numeric[i])),
        `${name}: input ${xi} element ${i}: backward ${got}, finite difference ${numeric[i]}`,
      );
    }
  });
}

describe('nn ops: gradients against finite differences (float64)', () => {
  const rng = new Rng(1);

  it('linear (with and without bias) and add', () => {
    const x = randomParam(rng, [2, 3, 5]);
    const w = randomParam(rng, [5, 4]);
    const b = randomParam(rng, [4]);
    checkGradients('linear', [x, w, b], () => linear(x, w, b));
    checkGradients('linear no bias', [x, w], () => linear(x, w));
    const y = randomParam(rng, [2, 3, 5]);
    checkGradients('add', [x, y], () => add(x, y));
  });

  it('gelu, layerNorm, rmsNorm, l2Normalize', () => {
    const x = randomParam(rng, [3, 6], 2);
    const g = randomParam(rng, [6]);
    const b = randomParam(rng, [6]);
    checkGradients('gelu', [x], () => gelu(x));
    checkGradients('layerNorm', [x, g, b], () => layerNorm(x, g, b));
    checkGradients('rmsNorm', [x, g], () => rmsNorm(x, g));
    checkGradients('l2Normalize', [x], () => l2Normalize(x));
  });

  it('embedding (a repeated id accumulates) and scaleHeads', () => {
    const table = randomParam(rng, [5, 3]);
    const ids = new Int32Array([1, 4, 1, 0]);
    checkGradients('embedding', [table], () => embedding(table, ids, [2, 2]), { samples: 15 });
    checkGradients('previousEmbedding', [table], () => previousEmbedding(table, ids, 2, 2), { samples: 15 });
    const x = randomParam(rng, [2, 3, 2, 4]);
    const logTau = randomParam(rng, [3], 0.5);
    checkGradients('scaleHeads', [x, logTau], () => scaleHeads(x, logTau));
  });

  it('splitHeads, mergeHeads and rope', () => {
    const x = randomParam(rng, [2, 3, 8]);
    checkGradients('splitHeads', [x], () => splitHeads(x, 2));
    const h = randomParam(rng, [2, 2, 3, 4]);
    checkGradients('mergeHeads', [h], () => mergeHeads(h));
    checkGradients('rope', [h], () => rope(h), { samples: 24 });
  });

  it('the library attention as a node (causal, any scale)', () => {
    const q = randomParam(rng, [2, 2, 5, 4]);
    const k = randomParam(rng, [2, 2, 5, 4]);
    const v = randomParam(rng, [2, 2, 5, 3]);
    for (const scale of [0.5, 1, 3]) checkGradients(`causalAttention scale ${scale}`, [q, k, v], () => causalAttention(q, k, v, scale));
  });

  it('the composite pieces: scores, softcap, causal mask, softmax, weighted values', () => {
    const q = randomParam(rng, [1, 2, 4, 3]);
    const k = randomParam(rng, [1, 2, 4, 3]);
    const v = randomParam(rng, [1, 2, 4, 5]);
    const s = randomParam(rng, [1, 2, 4, 4], 3);
    checkGradients('attentionScores', [q, k], () => attentionScores(q, k, 0.7));
    checkGradients('softcap', [s], () => softcap(s, 2));
    // −∞ entries are masked: the functional skips them by the finite-only sum in softmax.
    checkGradients('causalMask+softmax', [s], () => softmaxLast(causalMask(s)));
    const p = randomParam(rng, [1, 2, 4, 4]);
    checkGradients('weightedValues', [p, v], () => weightedValues(p, v));
    checkGradients('softcapAttention', [q, k, v], () => softcapAttention(q, k, v, 0.8, 1.5));
  });

  it('crossEntropy with ignored rows', () => {
    const logits = randomParam(rng, [2, 3, 6], 2);
    const targets = new Int32Array([0, IGNORE, 5, 2, 2, IGNORE]);
    checkGradients('crossEntropy', [logits], () => crossEntropy(logits, targets), { samples: 36 });
  });
});

describe('nn layers: gradients against finite differences (float64)', () => {
  const dtype = 'float64' as const;

  it('Linear, Embedding, LayerNorm, RMSNorm, MLP', () => {
    const rng = new Rng(2);
    const x = randomParam(rng, [2, 3, 6]);
    const lin = new Linear(rng, 6, 4, { dtype, init: 'xavier' });
    checkGradients('Linear', [x, lin.weight, lin.bias as Var], () => lin.forward(x));
    const emb = new Embedding(rng, 7, 4, dtype);
    checkGradients('Embedding', [emb.table], () => emb.forward(new Int32Array([6, 0, 6]), [3]));
    const ln = new LayerNorm(6, dtype);
    ln.gamma.data.set(randomData(rng, 6));
    checkGradients('LayerNorm', [x, ln.gamma, ln.beta], () => ln.forward(x));
    const rms = new RMSNorm(6, dtype);
    checkGradients('RMSNorm', [x, rms.gamma], () => rms.forward(x));
    const mlp = new MLP(rng, 6, 2, dtype);
    checkGradients('MLP', [x, ...mlp.parameters().map(([, p]) => p)], () => mlp.forward(x));
  });

  for (const rule of SCALE_RULES) {
    it(`MultiHeadAttention under scale rule ${rule}`, () => {
      const rng = new Rng(3);
      const x = randomParam(rng, [2, 5, 8]);
      const attn = new MultiHeadAttention(rng, { width: 8, heads: 2, headDim: 4, rule, softcap: 2, impl: 'reference', dtype });
      checkGradients(rule, [x, ...attn.parameters().map(([, p]) => p)], () => attn.forward(x), { samples: 6 });
    });
  }

  it('a whole Transformer (every parameter tensor)', () => {
    const model = new Transformer({ vocabSize: 7, width: 8, layers: 2, heads: 2, headDim: 4, scaleRule: 'rsqrt', dtype, seed: 5 });
    const ids = new Int32Array([1, 2, 3, 4, 5, 6, 0, 1]);
    const targets = new Int32Array([2, 3, IGNORE, 5, 6, 0, 1, 2]);
    checkGradients('Transformer', model.parameters().map(([, p]) => p), () => crossEntropy(model.forward(ids, 2, 4), targets), { samples: 3 });
  });

  it('constants get no gradient and keep no graph', () => {
    const c = constant(new Float64Array([1, 2]), [2]);
    const y = gelu(c);
    assert.equal(y.requiresGrad, false);
    assert.equal(y.parents.length, 0);
  });
});
