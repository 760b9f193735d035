import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/tensor/index.js';
import { Var, backward, parameter } from '../src/nn/autograd.js';
import { attentionScores, causalAttention, causalMask, softcap, softmaxLast, weightedValues, type AttentionRules } from '../src/nn/attention-ops.js';
import { MultiHeadAttention } from '../src/nn/attention-layer.js';
import { BACKENDS } from '../src/kernels.js';
import { sinkSoftmax } from '../src/nn/sink-ops.js';
import { finiteDifferenceGradient } from './helpers/finite-diff.js';
import { weighted } from './helpers/nn-functional.js';

// The attention node training runs (causalAttention over the shipped
// kernels, softcap and sinks as kernel options, dsinks into the sink
// parameter), checked twice in float64: its gradients against central finite
// differences, and its output and every gradient against the explicit graph
// the layer trained on before (scores → softcap → causal mask → sink softmax
// → values), on every backend that takes float64.

const shape = { b: 2, h: 3, t: 5, d: 4, dv: 3 };
const IMPLS = ['reference', 'tiled'] as const;

function param(rng: Rng, dims: number[], std = 1): Var {
  return parameter(Float64Array.from({ length: dims.reduce((a, x) => a * x, 1) }, () => std * rng.normal()), dims);
}

/** The explicit graph of the same attention, the layer's path before the kernels took softcap and sinks. */
function explicit(q: Var, k: Var, v: Var, scale: number, rules: AttentionRules): Var {
  let scores = attentionScores(q, k, scale);
  if (rules.softcap != null) scores = softcap(scores, rules.softcap);
  const logits = causalMask(scores);
  const p = rules.sinks == null ? softmaxLast(logits) : sinkSoftmax(logits, rules.sinks === 'zero' ? null : rules.sinks);
  return weightedValues(p, v);
}

function gradsOf(inputs: Var[], y: Var, r: Float64Array): Float64Array[] {
  for (const x of inputs) x.grad = null;
  backward(weighted(y, r));
  return inputs.map((x) => Float64Array.from(x.grad ?? new Float64Array(x.size)));
}

const RULES: [string, (rng: Rng) => AttentionRules][] = [
  ['softcap', () => ({ softcap: 1.5 })],
  ['sink', (rng) => ({ sinks: param(rng, [shape.h]) })],
  ['softmax1', () => ({ sinks: 'zero' })],
  ['softcap and sink', (rng) => ({ softcap: 2, sinks: param(rng, [shape.h], 2) })],
];

describe('causalAttention with softcap and sinks: one node over the kernels', () => {
  for (const impl of IMPLS) {
    for (const [name, makeRules] of RULES) {
      it(`${name} [${impl}]: output and gradients match the explicit graph; gradients match finite differences`, () => {
        const rng = new Rng(7);
        const q = param(rng, [shape.b, shape.h, shape.t, shape.d], 1.5);
        const k = param(rng, [shape.b, shape.h, shape.t, shape.d], 1.5);
        const v = param(rng, [shape.b, shape.h, shape.t, shape.dv]);
        const rules = makeRules(rng);
        const inputs = rules.sinks instanceof Var ? [q, k, v, rules.sinks] : [q, k, v];
        const scale = 0.8;
        const node = () => causalAttention(q, k, v, scale, impl, rules);
        const y = node();
        const r = Float64Array.from({ length: y.size }, () => rng.normal());
        const kernelGrads = gradsOf(inputs, y, r);
        const yExplicit = explicit(q, k, v, scale, rules);
        for (let i = 0; i < y.size; i++) assert.ok(Math.abs(y.data[i] - yExplicit.data[i]) < 1e-13, `output ${i}: ${y.data[i]} vs ${yExplicit.data[i]}`);
        const explicitGrads = gradsOf(inputs, yExplicit, r);
        inputs.forEach((x, xi) => {
          for (let i = 0; i < x.size; i++) {
            const [a, b] = [kernelGrads[xi][i], explicitGrads[xi][i]];
            assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `input ${xi} element ${i}: node ${a}, explicit graph ${b}`);
          }
          const original = Float64Array.from(x.data);
          const numeric = finiteDifferenceGradient((probe) => {
            x.data.set(probe);
            return weighted(node(), r).data[0];
          }, original);
          x.data.set(original);
          for (let i = 0; i < x.size; i++) {
            assert.ok(Math.abs(kernelGrads[xi][i] - numeric[i]) <= 1e-6 * Math.max(1, Math.abs(numeric[i])), `input ${xi} element ${i}: node ${kernelGrads[xi][i]}, finite difference ${numeric[i]}`);
          }
        });
        if (rules.sinks instanceof Var) assert.ok(kernelGrads[3].some((g) => Math.abs(g) > 1e-3), 'the sink parameter gets a gradient');
      });
    }
  }
});

describe('MultiHeadAttention trains every rule through the shipped kernels', () => {
  for (const rule of ['rsqrt', 'softcap', 'sink', 'softmax1'] as const) {
    it(`${rule}: forward and backward run the backend's passes; adaptive temperature takes the manual path`, () => {
      const backend = BACKENDS.find((b) => b.name === 'reference')!;
      const calls = { forward: 0, backward: 0 };
      const [forward, back] = [backend.forward, backend.backward];
      const spy = backend as { forward: typeof forward; backward: typeof back };
      spy.forward = (...args) => (calls.forward++, forward(...args));
      spy.backward = (...args) => (calls.backward++, back(...args));
      try {
        const layer = new MultiHeadAttention(new Rng(3), { width: 8, heads: 2, headDim: 4, rule, softcap: 5, impl: 'reference', dtype: 'float64' });
        const x = param(new Rng(4), [1, 5, 8]);
        backward(weighted(layer.forward(x), Float64Array.from({ length: 40 }, (_, i) => Math.sin(i))));
        assert.deepEqual(calls, { forward: 1, backward: 1 });
        if (rule === 'sink') assert.ok(layer.sinkLogit?.grad?.some((g) => g !== 0), 'dsinks reaches the sink parameter');
        layer.adaptive = true;
        layer.forward(x);
        assert.deepEqual(calls, { forward: 1, backward: 1 }, 'the manual path calls no kernel');
      } finally {
        Object.assign(spy, { forward, backward: back });
      }
    });
  }
});
