import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ScaledotError, full, logSoftmax, logSoftmaxBackward, randn, scaledDotProductAttention, scaledDotProductAttentionBackward,
  scaledDotProductAttentionWithLse, softmax, softmaxBackward, tensor, zeros, type AttentionOptions,
} from '../src/index.js';
import { MAX_BUFFER_BYTES } from '../src/kernels.js';
import { IMPLS, dtypesOf } from './helpers/backends.js';

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
