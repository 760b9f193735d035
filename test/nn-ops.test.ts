import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng, ScaledotError } from '../src/tensor/index.js';
import { Var, backward, constant, parameter } from '../src/nn/autograd.js';
import { causalAttention, softcapAttention } from '../src/nn/attention-ops.js';
import { crossEntropy, IGNORE } from '../src/nn/loss.js';
import { matmulABtAdd, matmulAdd, matmulAtBAdd } from '../src/nn/matmul.js';
import { layerNorm, linear, previousEmbedding } from '../src/nn/ops.js';
import { AdamW, SgdMomentum, clipGradNorm, gradNorm, learningRate } from '../src/nn/optim.js';
import { rope } from '../src/nn/rope.js';
import { checkScaleRule, ruleScale } from '../src/nn/scale-rules.js';
import { Transformer } from '../src/nn/transformer.js';

const isCode = (code: string) => (e: unknown): boolean => e instanceof ScaledotError && e.code === code;

function normals(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

const close = (a: number, b: number, tol: number, what: string): void => {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
};

/** Attention written as the plain formula, float64, one head: softmax(q kᵀ s + causal) v. */
function plainCausalAttention(q: Float64Array, k: Float64Array, v: Float64Array, t: number, d: number, dv: number, s: number, cap: number | null): number[] {
  const out: number[] = [];
  for (let i = 0; i < t; i++) {
    const logits: number[] = [];
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let e = 0; e < d; e++) dot += q[i * d + e] * k[j * d + e];
      logits.push(cap === null ? dot * s : cap * Math.tanh((dot * s) / cap));
    }
    const m = Math.max(...logits);
    const w = logits.map((l) => Math.exp(l - m));
    const z = w.reduce((a, b) => a + b, 0);
    for (let e = 0; e < dv; e++) out.push(w.reduce((acc, wj, j) => acc + (wj / z) * v[j * dv + e], 0));
  }
  return out;
}

describe('nn forward values against the plain formulas', () => {
  it('matmul kernels match the triple loop for every remainder of 4 rows', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer(), (m, k, n, seed) => {
      const rng = new Rng(seed);
      const a = normals(rng, m * k);
      const b = normals(rng, k * n);
      const c = normals(rng, m * n);
      const ab = new Float64Array(m * n);
      matmulAdd(a, b, ab, m, k, n);
      const cbt = new Float64Array(m * k);
      matmulABtAdd(c, b, cbt, m, n, k);
      const atc = new Float64Array(k * n);
      matmulAtBAdd(a, c, atc, m, k, n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        close(ab[i * n + j], s, 1e-12, 'a·b');
      }
      for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += c[i * n + j] * b[p * n + j];
        close(cbt[i * k + p], s, 1e-12, 'c·bᵀ');
      }
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < m; i++) s += a[i * k + p] * c[i * n + j];
        close(atc[p * n + j], s, 1e-12, 'aᵀ·c');
      }
    }), { numRuns: 60 });
  });

  it('linear is x W + b and layerNorm rows have mean β and std γ', () => {
    const rng = new Rng(4);
    const x = constant(normals(rng, 6), [2, 3]);
    const w = constant(normals(rng, 6), [3, 2]);
    const b = constant(normals(rng, 2), [2]);
    const y = linear(x, w, b);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      close(y.data[i * 2 + j], b.data[j] + x.data[i * 3] * w.data[j] + x.data[i * 3 + 1] * w.data[2 + j] + x.data[i * 3 + 2] * w.data[4 + j], 1e-12, 'linear');
    }
    const z = layerNorm(x, constant(new Float64Array([2, 2, 2]), [3]), constant(new Float64Array([1, 1, 1]), [3]), 0);
    for (let r = 0; r < 2; r++) {
      const row = Array.from(z.data.slice(r * 3, r * 3 + 3));
      const mean = row.reduce((a, c) => a + c, 0) / 3;
      close(mean, 1, 1e-12, 'mean');
      close(Math.sqrt(row.reduce((a, c) => a + (c - mean) ** 2, 0) / 3), 2, 1e-12, 'std');
    }
  });

  it('previousEmbedding puts the previous token\'s row at each position and zeros first', () => {
    const table = constant(new Float64Array([10, 11, 20, 21, 30, 31]), [3, 2]);
    const y = previousEmbedding(table, new Int32Array([2, 0, 1, 1, 2, 0]), 2, 3);
    assert.deepEqual(Array.from(y.data), [0, 0, 30, 31, 10, 11, 0, 0, 20, 21, 30, 31]);
  });

  it('the library attention node and the composite both equal the plain formula', () => {
    const rng = new Rng(5);
    const [t, d, dv] = [6, 4, 3];
    const q = normals(rng, t * d);
    const k = normals(rng, t * d);
    const v = normals(rng, t * dv);
    const qv = constant(q, [1, 1, t, d]);
    const kv = constant(k, [1, 1, t, d]);
    const vv = constant(v, [1, 1, t, dv]);
    const want = plainCausalAttention(q, k, v, t, d, dv, 0.8, null);
    const lib = causalAttention(qv, kv, vv, 0.8, 'reference');
    want.forEach((w, i) => close(lib.data[i], w, 1e-12, `library ${i}`));
    const capped = softcapAttention(qv, kv, vv, 0.8, 1.5);
    plainCausalAttention(q, k, v, t, d, dv, 0.8, 1.5).forEach((w, i) => close(capped.data[i], w, 1e-12, `softcap ${i}`));
  });

  it('float32 training tensors get the same attention as float64, to float32 accuracy', () => {
    const rng = new Rng(6);
    const shape = [2, 2, 9, 8];
    const data = [0, 1, 2].map(() => normals(rng, 2 * 2 * 9 * 8));
    const f64 = causalAttention(...(data.map((x) => constant(x, shape)) as [Var, Var, Var]), 0.35);
    const f32 = causalAttention(...(data.map((x) => constant(Float32Array.from(x), shape)) as [Var, Var, Var]), 0.35);
    assert.ok(f32.data instanceof Float32Array);
    f64.data.forEach((w, i) => close(f32.data[i], w, 1e-5, `element ${i}`));
  });

  it('rope: position 0 is the identity, and q·k depends only on the offset', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.integer(), (p1, p2, shift, seed) => {
      const rng = new Rng(seed);
      const d = 8;
      const t = 42;
      const qRaw = normals(rng, d);
      const kRaw = normals(rng, d);
      const place = (vec: Float64Array, at: number): Float64Array => {
        const buf = new Float64Array(t * d);
        buf.set(vec, at * d);
        return rope(constant(buf, [1, 1, t, d])).data.slice(at * d, at * d + d) as Float64Array;
      };
      const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, x, i) => s + x * b[i], 0);
      const before = dot(place(qRaw, p1), place(kRaw, p2));
      const after = dot(place(qRaw, p1 + shift), place(kRaw, p2 + shift));
      close(after, before, 1e-9, 'shifted dot');
      const atZero = place(qRaw, 0);
      atZero.forEach((x, i) => close(x, qRaw[i], 1e-15, 'identity'));
    }), { numRuns: 50 });
  });

  it('crossEntropy is the mean of −log softmax over the scored rows', () => {
    const logits = constant(new Float64Array([1, 2, 3, 0, 0, 0, 5, -5, 0]), [3, 3]);
    const got = crossEntropy(logits, new Int32Array([2, IGNORE, 1])).data[0];
    const lse = (a: number[]): number => Math.log(a.reduce((s, x) => s + Math.exp(x), 0));
    close(got, ((lse([1, 2, 3]) - 3) + (lse([5, -5, 0]) + 5)) / 2, 1e-12, 'cross entropy');
    assert.throws(() => crossEntropy(logits, new Int32Array([IGNORE, IGNORE, IGNORE])), isCode('E_ARG'));
    assert.throws(() => crossEntropy(logits, new Int32Array([3, 0, 0])), isCode('E_ARG'));
  });
});

describe('scale rules', () => {
  it('give the formula of each rule', () => {
    close(ruleScale('rsqrt', 64, 10), 1 / 8, 1e-15, 'rsqrt');
    close(ruleScale('none', 64, 10), 1, 1e-15, 'none');
    close(ruleScale('inverse', 64, 10), 1 / 64, 1e-15, 'inverse');
    close(ruleScale('log-length', 64, 512), 1 / 8, 1e-12, 'log-length at n = 512');
    close(ruleScale('log-length', 16, 8 * 8 * 8 * 8), (4 / 3) / 4, 1e-12, 'log-length at n = 512^(4/3)');
    assert.throws(() => checkScaleRule('train', 'sqrt'), (e: unknown) => isCode('E_OPTION')(e) && /rsqrt, none, inverse, qk-norm, log-length, softcap/.test((e as Error).message));
  });

  it('the model refuses an odd head dim (rotary pairs) with a clear error', () => {
    assert.throws(() => new Transformer({ vocabSize: 5, width: 6, layers: 1, heads: 2, headDim: 3, scaleRule: 'rsqrt' }), (e: unknown) => isCode('E_OPTION')(e) && /headDim is 3/.test((e as Error).message));
  });
});

describe('optimisers', () => {
  it('AdamW: one step is the bias-corrected update plus decoupled decay (matrices only)', () => {
    const w = parameter(new Float64Array([0.5, -1, 2, 0]), [2, 2]);
    const b = parameter(new Float64Array([3]), [1]);
    const opt = new AdamW([w, b], { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 });
    w.grad = new Float64Array([0.2, -0.4, 0, 1]);
    b.grad = new Float64Array([-2]);
    opt.step(0.01);
    // First step: m̂ = g, v̂ = g², so the step is lr·g/(|g| + eps) = ±lr, plus lr·λ·θ for matrices.
    const expectW = [0.5 - 0.01 * (1 + 0.1 * 0.5), -1 - 0.01 * (-1 + 0.1 * -1), 2 - 0.01 * (0 + 0.1 * 2), 0 - 0.01 * 1];
    expectW.forEach((e, i) => close(w.data[i], e, 1e-6, `w ${i}`));
    close(b.data[0], 3 + 0.01, 1e-6, 'bias (no decay)');
  });

  it('SGD with momentum accumulates b ← μb + g', () => {
    const w = parameter(new Float64Array([1]), [1]);
    const opt = new SgdMomentum([w], { momentum: 0.5 });
    w.grad = new Float64Array([2]);
    opt.step(0.1);
    w.grad = new Float64Array([2]);
    opt.step(0.1);
    close(w.data[0], 1 - 0.1 * 2 - 0.1 * (0.5 * 2 + 2), 1e-12, 'two steps');
  });

  it('both minimise a quadratic through the autograd graph', () => {
    for (const make of [(p: Var[]) => new AdamW(p, { weightDecay: 0 }), (p: Var[]) => new SgdMomentum(p)]) {
      const x = parameter(new Float64Array([3, -2]), [1, 2]);
      const target = constant(new Float64Array([1, 1]), [2, 1]);
      const opt = make([x]);
      for (let i = 0; i < 300; i++) {
        const y = linear(x, target); // x·(1,1)
        const loss = crossEntropy(linear(y, constant(new Float64Array([1, -1]), [1, 2])), new Int32Array([0]));
        backward(loss);
        opt.step(0.05);
        opt.zeroGrad();
      }
      // the loss pushes x₀ + x₁ up without bound; the sum must have grown from 1
      assert.ok(x.data[0] + x.data[1] > 3, `sum ${x.data[0] + x.data[1]}`);
    }
  });

  it('clipGradNorm rescales to the limit and keeps the direction', () => {
    const a = parameter(new Float64Array([3, 0]), [2]);
    const b = parameter(new Float64Array([0]), [1]);
    a.grad = new Float64Array([3, 0]);
    b.grad = new Float64Array([4]);
    close(clipGradNorm([a, b], 1), 5, 1e-15, 'norm before');
    close(gradNorm([a, b]), 1, 1e-15, 'norm after');
    close(a.grad[0] / b.grad[0], 3 / 4, 1e-15, 'direction');
  });

  it('learning rate warms up linearly, peaks, and decays to a tenth', () => {
    close(learningRate(0, 100, 1, 10), 0.1, 1e-15, 'first step');
    close(learningRate(9, 100, 1, 10), 1, 1e-15, 'end of warmup');
    close(learningRate(100, 100, 1, 10), 0.1, 1e-12, 'end');
    assert.ok(learningRate(50, 100, 1, 10) < 1 && learningRate(50, 100, 1, 10) > 0.1);
  });
});
