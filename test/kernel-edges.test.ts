import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ScaledotError, full, logSoftmax, logSoftmaxBackward, randn, scaledDotProductAttention, scaledDotProductAttentionBackward,
  scaledDotProductAttentionWithLse, softmax, softmaxBackward, tensor, zeros, type AttentionOptions,
} from '../src/index.js';
import { MAX_BUFFER_BYTES } from '../src/kernels.js';
import { dtypeInfo } from '../src/tensor/index.js';
import { IMPLS, dtypesOf } from './helpers/backends.js';
import { refAttention, refAttentionBackward } from './helpers/attention-reference.js';
import { maxAbs, outputTolerance } from './helpers/close.js';
import { refOptions } from './helpers/ref-options.js';

// The edges a fuzz run of 2,600 attention and 4,000 softmax cases found: huge problems, odd option bags, masked rows, float16 gradients.

const isCode = (code: string, message: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof ScaledotError, `expected a ScaledotError, got ${String(err)}`);
  assert.equal(err.code, code);
  assert.match(err.message, message);
  return true;
};

describe('size guard: a call that would allocate past 4 GiB is refused before any allocation (E_SIZE)', () => {
  // Output [65536, 65536] = 2³² elements from three tiny inputs.
  const query = randn([65536, 1]);
  const key = randn([1, 1]);
  const value = randn([1, 65536]);
  for (const impl of ['auto', ...IMPLS] as const) {
    it(`scaledDotProductAttention, its lse variant and its backward [${impl}]`, { timeout: 20_000 }, () => {
      const message = /the output \(\.\.\., Hq, L, Ev\) = \[65536,65536\] would hold 4,294,967,296 elements, 17,179,869,184 bytes \(16 GiB\) of float32; scaledot refuses any single buffer over 4,294,967,296 bytes/;
      const options: AttentionOptions = { impl };
      assert.throws(() => scaledDotProductAttention(query, key, value, options), isCode('E_SIZE', new RegExp(`^scaledDotProductAttention: ${message.source}`)));
      assert.throws(() => scaledDotProductAttentionWithLse(query, key, value, options), isCode('E_SIZE', message));
      assert.throws(() => scaledDotProductAttentionBackward(query, key, value, zeros([1, 1]), options), isCode('E_SIZE', message));
    });
  }

  it('randn, zeros and full of [65536, 65536] say how many elements and bytes, in their dtype', () => {
    assert.throws(() => randn([65536, 65536]), isCode('E_SIZE', /^randn: shape \[65536,65536\] would hold 4,294,967,296 elements, 17,179,869,184 bytes \(16 GiB\) of float32/));
    assert.throws(() => zeros([65536, 65536], { dtype: 'float64' }), isCode('E_SIZE', /^zeros: .*34,359,738,368 bytes \(32 GiB\) of float64/));
    assert.throws(() => full([2 ** 40, 2 ** 40], 1), isCode('E_SIZE', /^full: shape \[1099511627776,1099511627776\] would hold 1\.209e\+24 elements/));
    // The limit is the limit: a bool tensor of exactly 4 GiB is not refused by the guard, one byte more is.
    assert.equal(MAX_BUFFER_BYTES, 2 ** 32);
    assert.throws(() => zeros([2 ** 32 + 1], { dtype: 'bool' }), isCode('E_SIZE', /4,294,967,297 elements/));
  });
});

describe('option bags: only plain objects, and messages that name what was passed', () => {
  const x = randn([2, 3]);
  it('attention refuses a Map, a class instance and an array as options, as it refuses unknown keys', () => {
    const cases: [unknown, RegExp][] = [
      [new Map([['isCausal', true]]), /got a Map$/],
      [new (class Settings { isCausal = true })(), /got a Settings$/],
      [[1, 2], /got an array \[1,2\]$/],
      [[], /got an array \[\]$/],
      ['causal', /got the string "causal"$/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => scaledDotProductAttention(x, x, x, options as AttentionOptions), isCode('E_OPTION', new RegExp(`options must be a plain object such as \\{ isCausal: true \\}, ${message.source}`)));
    }
    // A null-prototype object is a plain bag of keys.
    assert.equal(scaledDotProductAttention(x, x, x, Object.assign(Object.create(null), { isCausal: true })).shape.join(), '2,3');
  });

  it('softmax names an array or a Map passed as options instead of printing nothing', () => {
    assert.throws(() => softmax(x, [] as never), isCode('E_OPTION', /^softmax: options must be a plain object like \{ axis: -1 \}, got an array \[\]$/));
    assert.throws(() => softmax(x, new Map([['axis', 0]]) as never), isCode('E_OPTION', /got a Map$/));
  });

  it('softmax says an axis of "1" or 1.5 must be an integer, and keeps "out of range" for integers', () => {
    assert.throws(() => softmax(x, { axis: '1' as never }), isCode('E_OPTION', /^softmax: axis "1" \(a string\) must be an integer; expected one in \[-2, 1\]/));
    assert.throws(() => softmax(x, { axis: 1.5 }), isCode('E_OPTION', /axis 1\.5 must be an integer/));
    assert.throws(() => softmax(x, { axis: 2 }), isCode('E_OPTION', /axis 2 is out of range for a tensor of shape \[2,3\]/));
  });
});

describe('score option types: one rule (null = off; a vector is a Tensor, an array or any typed array), the type named when refused', () => {
  const q = randn([2, 2, 3, 4], { seed: 1 }), k = randn([2, 2, 5, 4], { seed: 2 }), v = randn([2, 2, 5, 4], { seed: 3 });
  const arrays = { alibiSlopes: [0.5, 0.25], sinks: [0, -1], keyLengths: [5, 3] };
  for (const impl of IMPLS) {
    it(`typed arrays give what arrays give, and null what absence gives [${impl}]`, () => {
      const want = Array.from(scaledDotProductAttention(q, k, v, { ...arrays, isCausal: true, impl }).data);
      for (const Typed of [Float32Array, Float64Array, Int32Array] as const) {
        // Int32Array truncates the slopes and sinks: compare against the same numbers as an array.
        const typed = { alibiSlopes: new Typed(arrays.alibiSlopes), sinks: new Typed(arrays.sinks), keyLengths: new Typed(arrays.keyLengths) };
        const plain = { alibiSlopes: Array.from(typed.alibiSlopes), sinks: Array.from(typed.sinks), keyLengths: Array.from(typed.keyLengths) };
        const got = Array.from(scaledDotProductAttention(q, k, v, { ...typed, isCausal: true, impl }).data);
        assert.deepEqual(got, Array.from(scaledDotProductAttention(q, k, v, { ...plain, isCausal: true, impl }).data), Typed.name);
        if (Typed !== Int32Array) assert.deepEqual(got, want, Typed.name);
      }
      const none = Array.from(scaledDotProductAttention(q, k, v, { impl }).data);
      const nulls = { softcap: null, window: null, alibiSlopes: null, sinks: null, keyLengths: null };
      assert.deepEqual(Array.from(scaledDotProductAttention(q, k, v, { ...nulls, impl }).data), none);
    });
  }

  it('a value of another type is refused with its type named', () => {
    const cases: [AttentionOptions, RegExp][] = [
      [{ keyLengths: '3' as never }, /keyLengths is the string "3"; expected an array or a typed array of 2 integers/],
      [{ keyLengths: new Map() as never }, /keyLengths is a Map;/],
      [{ keyLengths: new Float64Array([5, 2.5]) }, /keyLengths\[1\] is 2\.5; expected an integer in \[0, S\]/],
      [{ sinks: { 0: 1 } as never }, /sinks is an object; expected a Tensor, an array or a typed array of 2 numbers/],
      [{ alibiSlopes: new DataView(new ArrayBuffer(8)) as never }, /alibiSlopes is a DataView;/],
      [{ softcap: '1' as never }, /softcap is the string "1"; expected a finite number > 0/],
      [{ window: 'left' as never }, /window is the string "left"; expected \[left, right\]/],
    ];
    for (const [options, message] of cases) assert.throws(() => scaledDotProductAttention(q, k, v, options), isCode('E_OPTION', message));
  });
});

describe('fully masked rows: softmaxBackward and logSoftmaxBackward agree', () => {
  for (const dtype of ['float64', 'float32', 'float16', 'bfloat16'] as const) {
    it(`a row of −∞ gets a zero gradient from both [${dtype}]`, () => {
      const x = tensor([[-Infinity, -Infinity, -Infinity], [1, 2, -Infinity]], [2, 3], { dtype });
      const up = tensor([[1, -2, 3], [0.5, 1, 2]], [2, 3], { dtype });
      const viaSoftmax = Array.from(softmaxBackward(softmax(x), up).data);
      const viaLog = Array.from(logSoftmaxBackward(logSoftmax(x), up).data);
      // (softmaxBackward's zeros may be −0: y = 0 times a negative difference.)
      assert.ok(viaSoftmax.slice(0, 3).every((g) => g === 0), `softmaxBackward: ${viaSoftmax}`);
      assert.ok(viaLog.slice(0, 3).every((g) => g === 0), `logSoftmaxBackward: ${viaLog}`);
      // A row with a finite entry still follows dz − exp(z) Σ dz (the masked entry's exp(z) is 0).
      const z = Array.from(logSoftmax(x).data).slice(3);
      const expected = [0.5, 1, 2].map((d, i) => d - Math.exp(z[i]) * 3.5);
      viaLog.slice(3).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 2e-2 * Math.max(1, Math.abs(expected[i])), `row 2, entry ${i}: ${v} vs ${expected[i]}`));
    });
  }
});

describe('float16 gradients past 65504 (documented in docs/attention.md)', () => {
  // Scores are all 0 (q ⟂ k), so the forward is a plain average of V, finite and small; but
  // dS = ±100 and |k|, |q| = 1000 make the true dq and dk about 1e5, past float16's 65504.
  const q = [[1000, 0], [0, 0]];
  const k = [[0, 1000], [0, -1000]];
  const v = [[10], [-10]];
  const dOut = [[20], [20]];
  const exact = scaledDotProductAttentionBackward(
    tensor(q, [2, 2], { dtype: 'float64' }), tensor(k, [2, 2], { dtype: 'float64' }), tensor(v, [2, 1], { dtype: 'float64' }), tensor(dOut, [2, 1], { dtype: 'float64' }), { impl: 'reference' },
  );
  for (const impl of IMPLS.filter((name) => dtypesOf(name).includes('float16'))) {
    it(`come out ±Infinity from finite inputs in ${impl}, exactly where the true value is past 65504; the forward stays finite`, () => {
      const t = (rows: number[][]) => tensor(rows, [rows.length, rows[0].length], { dtype: 'float16' });
      const out = scaledDotProductAttention(t(q), t(k), t(v), { impl });
      assert.ok(Array.from(out.data).every(Number.isFinite));
      const grads = scaledDotProductAttentionBackward(t(q), t(k), t(v), t(dOut), { impl });
      for (const name of ['dq', 'dk'] as const) {
        const truth = Array.from(exact[name].data);
        assert.ok(truth.some((g) => Math.abs(g) > 65504), `${name}: the case must reach past 65504 (${truth})`);
        Array.from(grads[name].data).forEach((g, i) => {
          if (Math.abs(truth[i]) > 65520) assert.equal(g, Math.sign(truth[i]) * Infinity, `${name}[${i}] true ${truth[i]}`);
          else assert.ok(Number.isFinite(g), `${name}[${i}] = ${g}, true ${truth[i]}`);
        });
      }
      assert.ok(Array.from(grads.dv.data).every(Number.isFinite));
    });
  }
});

describe('values at the edge of float32 agree with the float64 test reference, or are refused by name (issue 18)', () => {
  // The reproduction of issue 18: q [1,1,2,4], k and v [1,1,3,4] from seeds 1, 2, 3.
  const HF_PAD = -3.4028234663852886e38; // torch.finfo(torch.float32).min, the Hugging Face padding mask
  const cases: { name: string; options: AttentionOptions; mayRefuse?: boolean }[] = [
    { name: 'the HF padding mask on every key of row 0', options: { attnMask: tensor([HF_PAD, HF_PAD, HF_PAD, 0, HF_PAD, HF_PAD], [2, 3]) } },
    { name: 'a float mask of +3e38 on one key', options: { attnMask: tensor([0, 3e38, 0, 0, 0, 0], [2, 3]) } },
    { name: 'softcap 1e39', options: { softcap: 1e39 }, mayRefuse: true },
    { name: 'sinks [3e38]', options: { sinks: [3e38] }, mayRefuse: true },
    { name: 'alibiSlopes [1e39]', options: { alibiSlopes: [1e39] }, mayRefuse: true },
    { name: 'scale 1e39', options: { scale: 1e39 }, mayRefuse: true },
    { name: 'softcap 1e-320', options: { softcap: 1e-320 }, mayRefuse: true },
    { name: 'softcap 1e-320 with scale 0 (every score exactly 0)', options: { softcap: 1e-320, scale: 0 }, mayRefuse: true },
    { name: 'window [1e300, 0] under isCausal', options: { isCausal: true, window: [1e300, 0] } },
    { name: 'window [2^32, 0] under isCausal', options: { isCausal: true, window: [2 ** 32, 0] } },
    { name: 'window [2^32 + 1, 0] under isCausal', options: { isCausal: true, window: [2 ** 32 + 1, 0] } },
    { name: 'window [0, 2^31] (a right side past int32)', options: { window: [0, 2 ** 31] } },
  ];
  const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: (x: number) => number, what: string) => {
    assert.equal(got.length, want.length, what);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i] - want[i]) <= tol(want[i]) || got[i] === want[i], `${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
    }
  };
  for (const impl of ['auto', ...IMPLS]) {
    for (const dtype of impl === 'auto' ? (['float32', 'float16', 'bfloat16'] as const) : dtypesOf(impl)) {
      it(`forward, lse and gradients [${impl}, ${dtype}]`, () => {
        const q = randn([1, 1, 2, 4], { seed: 1, dtype });
        const k = randn([1, 1, 3, 4], { seed: 2, dtype });
        const v = randn([1, 1, 3, 4], { seed: 3, dtype });
        const dO = randn([1, 1, 2, 4], { seed: 4, dtype });
        // The answer: the same inputs in float64 through the independent formula of the test helpers.
        const acc = dtype === 'float64' ? 2 ** -52 : 2 ** -23;
        const outTol = (x: number) => 8 * dtypeInfo(dtype).eps * Math.abs(x) + 64 * acc;
        // Every case is checked and the failures listed together, so one broken case hides no other.
        const failures: string[] = [];
        for (const c of cases) {
          try {
            checkCase(c);
          } catch (err) {
            failures.push(err instanceof Error ? err.message.split('\n')[0] : String(err));
          }
        }
        assert.deepEqual(failures, []);
        function checkCase(c: (typeof cases)[number]): void {
          const options = { ...c.options, impl };
          let got;
          try {
            got = scaledDotProductAttentionWithLse(q, k, v, options);
          } catch (err) {
            // Only a named wasm may refuse, and only an option its float32 kernels cannot hold, saying which.
            assert.ok(c.mayRefuse && impl === 'wasm', `${c.name}: ${String(err)}`);
            isCode('E_OPTION', /impl 'wasm' cannot take .*; use impl 'auto'/)(err);
            return;
          }
          const exact = refAttention(q, k, v, refOptions(c.options));
          close(got.output.data, exact.output, outTol, `${c.name}: output`);
          close(got.lse.data, exact.lse, (x) => 64 * acc * Math.max(1, Math.abs(x)), `${c.name}: lse`);
          const grads = scaledDotProductAttentionBackward(q, k, v, dO, options);
          const want = refAttentionBackward(q, k, v, dO, refOptions(c.options));
          for (const name of ['dq', 'dk', 'dv'] as const) {
            const scaleOf = Math.max(1, maxAbs(want[name]));
            close(grads[name].data, want[name], (x) => 8 * dtypeInfo(dtype).eps * Math.abs(x) + 64 * acc * scaleOf, `${c.name}: ${name}`);
          }
        }
      });
    }
  }

  it('q·k past float32 (|q|, |k| = 1e20): +∞, −∞ and ∞ − ∞ scores agree with float64 on every impl', () => {
    const inputs: [string, number[], number[]][] = [
      ['every score past +3.4e38', [1e20, 1e20], [1e20, 1e20, 1e19, 0, -1e20, 1e20]],
      ['every score past −3.4e38', [1e20, 1e20], [-1e20, -1e20, -2e20, -1e20, -1e20, -3e20]],
      ['products past float32 that cancel (∞ − ∞)', [1e20, -1e20], [1e20, 1e19, 0, 1, 2, 3]],
    ];
    for (const impl of ['auto', ...IMPLS]) {
      for (const dtype of (['float32', 'bfloat16', 'float64'] as const).filter((d) => impl === 'auto' || dtypesOf(impl).includes(d))) {
        for (const [name, qv, kv] of inputs) {
          const q = tensor(qv, [1, 2], { dtype }), k = tensor(kv, [3, 2], { dtype }), v = tensor([1, 2, 3, 4, 5, 6], [3, 2], { dtype });
          const dO = tensor([1, -1], [1, 2], { dtype });
          const what = `${name} [${impl}, ${dtype}]`;
          const got = scaledDotProductAttentionWithLse(q, k, v, { scale: 1, impl });
          const exact = refAttention(q, k, v, { scale: 1 });
          assert.deepEqual(Array.from(got.output.data), Array.from(exact.output), `${what}: output`);
          assert.ok(Math.abs(got.lse.data[0] - exact.lse[0]) <= 1e-6 * Math.abs(exact.lse[0]), `${what}: lse ${got.lse.data[0]} vs ${exact.lse[0]}`);
          const grads = scaledDotProductAttentionBackward(q, k, v, dO, { scale: 1, impl });
          const want = refAttentionBackward(q, k, v, dO, { scale: 1 });
          for (const g of ['dq', 'dk', 'dv'] as const) assert.deepEqual(Array.from(grads[g].data), Array.from(want[g]), `${what}: ${g}`);
        }
      }
    }
  });

  it('the HF padding row is uniform: the mean of v, as PyTorch gives it', () => {
    const v = randn([1, 1, 3, 4], { seed: 3 });
    const out = scaledDotProductAttention(randn([1, 1, 2, 4], { seed: 1 }), randn([1, 1, 3, 4], { seed: 2 }), v, { attnMask: tensor([HF_PAD, HF_PAD, HF_PAD, 0, HF_PAD, HF_PAD], [2, 3]) });
    for (let c = 0; c < 4; c++) {
      const mean = (v.data[c] + v.data[4 + c] + v.data[8 + c]) / 3;
      assert.ok(Math.abs(out.data[c] - mean) < 1e-6, `column ${c}: ${out.data[c]} vs mean ${mean}`);
    }
  });

  it('underflow: wasm flushes a weight below 2^-126 to 0, and the stated bound (flushedWeight) says so', () => {
    // q = [1], k = [0, −88.5], v = [0, 1], scale 1: the true output is exp(−88.5) / (1 + exp(−88.5)) ≈ 3.67e-39, a float32 subnormal.
    const q = tensor([1], [1, 1]), k = tensor([0, -88.5], [2, 1]), v = tensor([0, 1], [2, 1]);
    const exact = refAttention(q, k, v, { scale: 1 });
    assert.ok(exact.output[0] > 0 && exact.output[0] < 2 ** -126);
    for (const impl of IMPLS.filter((name) => dtypesOf(name).includes('float32'))) {
      const out = scaledDotProductAttention(q, k, v, { scale: 1, impl });
      const tol = outputTolerance('float32', 2, 1, exact.output[0], exact.absSum[0], exact.scoreMag[0], 1);
      assert.ok(Math.abs(out.data[0] - exact.output[0]) <= tol, `${impl}: ${out.data[0]} vs ${exact.output[0]}, bound ${tol}`);
    }
    // The bound without the flush term is the one the kernels broke before it was stated.
    assert.ok(outputTolerance('float32', 2, 1, exact.output[0], exact.absSum[0], exact.scoreMag[0], 0) < exact.output[0]);
  });
});
