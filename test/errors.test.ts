import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ScaledotError, Tensor, full, listAttentionImpls, randn, scaledDotProductAttention, scaledDotProductAttentionBackward,
  scaledDotProductAttentionWithLse, tensor, zeros, type ErrorCode,
} from '../src/index.js';

/** Asserts fn throws a ScaledotError with this code whose message contains every fragment. */
function assertThrows(fn: () => unknown, code: ErrorCode, fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ScaledotError, `expected a ScaledotError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const f of fragments) assert.ok(err.message.includes(f), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

const f32 = (shape: number[], seed = 0) => randn(shape, { seed });
const q = f32([2, 3, 5, 8], 1);
const k = f32([2, 3, 7, 8], 2);
const v = f32([2, 3, 7, 4], 3);
const dO = f32([2, 3, 5, 4], 4);

type Args = { query: unknown; key: unknown; value: unknown; gradOutput?: unknown; options?: unknown };

/**
 * Each misuse: the arguments, the code, and what the message must name. Every
 * one is tried on all three public functions (the backward with a valid
 * gradOutput unless the misuse is in gradOutput) and under every impl.
 */
const MISUSES: { name: string; args: Args; code: ErrorCode; fragments: string[] }[] = [
  { name: 'query not a tensor', args: { query: [[1, 2]], key: k, value: v }, code: 'E_ARG', fragments: ['query must be a Tensor'] },
  { name: 'bool query', args: { query: zeros([2, 3, 5, 8], { dtype: 'bool' }), key: k, value: v }, code: 'E_DTYPE', fragments: ['query', 'bool', '[2,3,5,8]'] },
  { name: 'dtypes differ', args: { query: q, key: k.astype('float64'), value: v }, code: 'E_DTYPE', fragments: ['key', 'float64', 'float32'] },
  { name: 'rank 1 query', args: { query: f32([8]), key: f32([8]), value: f32([8]) }, code: 'E_SHAPE', fragments: ['query', '[8]', 'rank >= 2'] },
  { name: 'ranks differ', args: { query: q, key: f32([3, 7, 8]), value: v }, code: 'E_SHAPE', fragments: ['key', '[3,7,8]', '[2,3,5,8]', 'same rank'] },
  { name: 'batch dims differ', args: { query: q, key: f32([4, 3, 7, 8]), value: f32([4, 3, 7, 4]) }, code: 'E_SHAPE', fragments: ['key', '[4,3,7,8]', '[2,3,5,8]', 'batch'] },
  { name: 'E differs', args: { query: f32([2, 3, 5, 8]), key: f32([2, 3, 7, 16]), value: v }, code: 'E_SHAPE', fragments: ['key has shape [2,3,7,16] but query has shape [2,3,5,8]; their last dimensions (E) must match'] },
  { name: 'S differs', args: { query: q, key: k, value: f32([2, 3, 6, 4]) }, code: 'E_SHAPE', fragments: ['value', '[2,3,6,4]', '[2,3,7,8]', '(S'] },
  { name: 'kv heads differ', args: { query: q, key: k, value: f32([2, 1, 7, 4]) }, code: 'E_SHAPE', fragments: ['value', '[2,1,7,4]', 'Hkv'] },
  { name: 'heads differ without enableGqa', args: { query: f32([2, 6, 5, 8]), key: k, value: v }, code: 'E_SHAPE', fragments: ['6 heads', '[2,6,5,8]', '[2,3,7,8]', 'enableGqa'] },
  { name: 'heads do not divide under GQA', args: { query: f32([2, 4, 5, 8]), key: k, value: v, options: { enableGqa: true } }, code: 'E_SHAPE', fragments: ['Hq = 4', 'Hkv = 3', 'multiple'] },
  { name: 'mask with the wrong L', args: { query: q, key: k, value: v, options: { attnMask: zeros([4, 7], { dtype: 'bool' }) } }, code: 'E_MASK', fragments: ['attnMask', '[4,7]', '[2,3,5,7]'] },
  { name: 'mask with the wrong S', args: { query: q, key: k, value: v, options: { attnMask: zeros([1, 1, 5, 8]) } }, code: 'E_MASK', fragments: ['attnMask', '[1,1,5,8]', '[2,3,5,7]'] },
  { name: 'mask of higher rank', args: { query: q, key: k, value: v, options: { attnMask: zeros([1, 2, 3, 5, 7]) } }, code: 'E_MASK', fragments: ['attnMask', '[1,2,3,5,7]'] },
  { name: 'mask not a tensor', args: { query: q, key: k, value: v, options: { attnMask: [[true]] } }, code: 'E_ARG', fragments: ['attnMask'] },
  { name: 'additive mask with NaN', args: { query: q, key: k, value: v, options: { attnMask: full([5, 7], NaN) } }, code: 'E_MASK', fragments: ['attnMask', 'NaN'] },
  { name: 'additive mask with +Infinity', args: { query: q, key: k, value: v, options: { attnMask: full([5, 7], Infinity) } }, code: 'E_MASK', fragments: ['attnMask', 'Infinity'] },
  { name: 'negative dropoutP', args: { query: q, key: k, value: v, options: { dropoutP: -0.1 } }, code: 'E_OPTION', fragments: ['dropoutP', '-0.1', '[0, 1)'] },
  { name: 'dropoutP of 1', args: { query: q, key: k, value: v, options: { dropoutP: 1 } }, code: 'E_OPTION', fragments: ['dropoutP', '[0, 1)'] },
  { name: 'dropoutP NaN', args: { query: q, key: k, value: v, options: { dropoutP: NaN } }, code: 'E_OPTION', fragments: ['dropoutP'] },
  { name: 'dropoutP a string', args: { query: q, key: k, value: v, options: { dropoutP: '0.1' } }, code: 'E_OPTION', fragments: ['dropoutP'] },
  { name: 'dropout without a seed', args: { query: q, key: k, value: v, options: { dropoutP: 0.1 } }, code: 'E_OPTION', fragments: ['dropoutP is 0.1', 'no seed', 'seed, an integer in [0, 4294967295]'] },
  { name: 'fractional seed', args: { query: q, key: k, value: v, options: { dropoutP: 0.1, seed: 1.5 } }, code: 'E_OPTION', fragments: ['seed', '1.5'] },
  { name: 'negative seed', args: { query: q, key: k, value: v, options: { seed: -1 } }, code: 'E_OPTION', fragments: ['seed'] },
  { name: 'seed past 32 bits', args: { query: q, key: k, value: v, options: { seed: 2 ** 32 } }, code: 'E_OPTION', fragments: ['seed', '4294967296'] },
  { name: 'infinite scale', args: { query: q, key: k, value: v, options: { scale: Infinity } }, code: 'E_OPTION', fragments: ['scale', 'Infinity'] },
  { name: 'NaN scale', args: { query: q, key: k, value: v, options: { scale: NaN } }, code: 'E_OPTION', fragments: ['scale'] },
  { name: 'isCausal not a boolean', args: { query: q, key: k, value: v, options: { isCausal: 'yes' } }, code: 'E_OPTION', fragments: ['isCausal'] },
  { name: 'enableGqa not a boolean', args: { query: q, key: k, value: v, options: { enableGqa: 1 } }, code: 'E_OPTION', fragments: ['enableGqa'] },
  { name: 'unknown impl', args: { query: q, key: k, value: v, options: { impl: 'cuda' } }, code: 'E_OPTION', fragments: ['impl', 'cuda', 'reference'] },
  { name: 'unknown option key', args: { query: q, key: k, value: v, options: { causal: true } }, code: 'E_OPTION', fragments: ['unknown option', 'causal', 'isCausal'] },
  { name: 'negative softcap', args: { query: q, key: k, value: v, options: { softcap: -1 } }, code: 'E_OPTION', fragments: ['softcap', '-1'] },
  { name: 'infinite softcap', args: { query: q, key: k, value: v, options: { softcap: Infinity } }, code: 'E_OPTION', fragments: ['softcap', 'Infinity'] },
  { name: 'alibiSlopes of the wrong length', args: { query: q, key: k, value: v, options: { alibiSlopes: [1, 2] } }, code: 'E_SHAPE', fragments: ['alibiSlopes', 'length 2', 'Hq = 3'] },
  { name: 'alibiSlopes a 2-D tensor', args: { query: q, key: k, value: v, options: { alibiSlopes: zeros([3, 1]) } }, code: 'E_SHAPE', fragments: ['alibiSlopes', '[3,1]'] },
  { name: 'alibiSlopes with NaN', args: { query: q, key: k, value: v, options: { alibiSlopes: [1, NaN, 2] } }, code: 'E_OPTION', fragments: ['alibiSlopes[1]', 'NaN'] },
  { name: 'window of one number', args: { query: q, key: k, value: v, options: { window: [3] } }, code: 'E_OPTION', fragments: ['window', '[3]', '-1'] },
  { name: 'window below -1', args: { query: q, key: k, value: v, options: { window: [-2, 0] } }, code: 'E_OPTION', fragments: ['window', '-2'] },
  { name: 'window not integers', args: { query: q, key: k, value: v, options: { window: [1.5, 0] } }, code: 'E_OPTION', fragments: ['window', '1.5'] },
  { name: 'keyLengths of the wrong length', args: { query: q, key: k, value: v, options: { keyLengths: [7] } }, code: 'E_SHAPE', fragments: ['keyLengths', 'length 1', 'expected 2'] },
  { name: 'keyLength above S', args: { query: q, key: k, value: v, options: { keyLengths: [7, 8] } }, code: 'E_OPTION', fragments: ['keyLengths[1]', '8', '[0, 7]'] },
  { name: 'negative keyLength', args: { query: q, key: k, value: v, options: { keyLengths: Int32Array.from([-1, 3]) } }, code: 'E_OPTION', fragments: ['keyLengths[0]', '-1'] },
  { name: 'sinks of the wrong length', args: { query: q, key: k, value: v, options: { sinks: [0] } }, code: 'E_SHAPE', fragments: ['sinks', 'length 1', 'Hq = 3'] },
  { name: 'sink of +Infinity', args: { query: q, key: k, value: v, options: { sinks: [0, Infinity, 0] } }, code: 'E_OPTION', fragments: ['sinks[1]', 'Infinity'] },
  { name: 'sinks a string', args: { query: q, key: k, value: v, options: { sinks: 'zero' } }, code: 'E_OPTION', fragments: ['sinks', 'zero'] },
  { name: 'options not an object', args: { query: q, key: k, value: v, options: 3 } , code: 'E_OPTION', fragments: ['options'] },
];

const FUNCTIONS = [
  ['scaledDotProductAttention', (a: Args) => scaledDotProductAttention(a.query as Tensor, a.key as Tensor, a.value as Tensor, a.options as never)],
  ['scaledDotProductAttentionWithLse', (a: Args) => scaledDotProductAttentionWithLse(a.query as Tensor, a.key as Tensor, a.value as Tensor, a.options as never)],
  ['scaledDotProductAttentionBackward', (a: Args) =>
    scaledDotProductAttentionBackward(a.query as Tensor, a.key as Tensor, a.value as Tensor, (a.gradOutput ?? dO) as Tensor, a.options as never)],
] as const;

describe('attention argument errors', () => {
  for (const m of MISUSES) {
    it(`${m.name} → ${m.code}, naming the function, argument and shapes`, () => {
      for (const [fnName, call] of FUNCTIONS) {
        assertThrows(() => call(m.args), m.code, [`${fnName}:`, ...m.fragments]);
        // The impl option never gets a chance to run a backend on bad input.
        const withImpl = (impl: string) => ({ ...m.args, options: { ...(m.args.options as object | undefined), impl } });
        if (typeof m.args.options !== 'number' && !(m.args.options as { impl?: string } | undefined)?.impl) {
          for (const impl of listAttentionImpls()) assertThrows(() => call(withImpl(impl)), m.code, [`${fnName}:`]);
        }
      }
    });
  }

  it('gradOutput of the wrong shape or dtype → E_SHAPE / E_DTYPE', () => {
    assertThrows(() => scaledDotProductAttentionBackward(q, k, v, f32([2, 3, 5, 8])), 'E_SHAPE', ['scaledDotProductAttentionBackward:', 'gradOutput', '[2,3,5,8]', '[2,3,5,4]']);
    assertThrows(() => scaledDotProductAttentionBackward(q, k, v, dO.astype('float16')), 'E_DTYPE', ['gradOutput', 'float16', 'float32']);
    assertThrows(() => scaledDotProductAttentionBackward(q, k, v, 'dO' as unknown as Tensor), 'E_ARG', ['gradOutput']);
  });

  it('a saved forward of the wrong shape or dtype → E_SHAPE / E_DTYPE, and the forward refuses saved', () => {
    const fn = 'scaledDotProductAttentionBackward:';
    const { output, lse } = scaledDotProductAttentionWithLse(q, k, v);
    const backward = (saved: unknown) => scaledDotProductAttentionBackward(q, k, v, dO, { saved } as never);
    assertThrows(() => backward({ output: f32([2, 3, 5, 8]), lse }), 'E_SHAPE', [fn, 'saved.output', '[2,3,5,8]', '[2,3,5,4]']);
    assertThrows(() => backward({ output, lse: randn([2, 3, 4], { dtype: 'float64' }) }), 'E_SHAPE', [fn, 'saved.lse', '[2,3,4]', '[2,3,5]']);
    assertThrows(() => backward({ output: output.astype('float64'), lse }), 'E_DTYPE', [fn, 'saved.output', 'float64', 'float32']);
    assertThrows(() => backward({ output, lse: lse.astype('float32') }), 'E_DTYPE', [fn, 'saved.lse', 'float32', 'float64']);
    assertThrows(() => backward({ output }), 'E_ARG', [fn, 'saved.lse']);
    assertThrows(() => backward([output, lse]), 'E_OPTION', [fn, 'saved', 'array']);
    for (const impl of listAttentionImpls()) {
      assertThrows(() => scaledDotProductAttentionBackward(q, k, v, dO, { impl, saved: { output: f32([2, 3, 5, 8]), lse } }), 'E_SHAPE', [fn, 'saved.output']);
    }
    assertThrows(() => scaledDotProductAttention(q, k, v, { saved: { output, lse } } as never), 'E_OPTION', ['scaledDotProductAttention:', 'unknown option', 'saved']);
    assert.deepEqual(backward(null).dq.shape, [2, 3, 5, 8]);
  });

  it('a valid call with the same tensors succeeds (the misuses above are the only fault)', () => {
    assert.deepEqual(scaledDotProductAttention(q, k, v).shape, [2, 3, 5, 4]);
    assert.deepEqual(scaledDotProductAttention(f32([2, 6, 5, 8]), k, v, { enableGqa: true }).shape, [2, 6, 5, 4]);
    assert.deepEqual(scaledDotProductAttention(q, k, v, { attnMask: zeros([2, 1, 1, 7]), isCausal: true, dropoutP: 0.5, seed: 2 ** 32 - 1 }).shape, [2, 3, 5, 4]);
    assert.deepEqual(scaledDotProductAttentionBackward(q, k, v, dO, { scale: null, attnMask: null }).dq.shape, [2, 3, 5, 8]);
    const model = { softcap: 0, alibiSlopes: tensor([1, 2, 3], [3]), window: [-1, 2] as [number, number], keyLengths: [7, 0], sinks: [0, -Infinity, 1e30] };
    assert.deepEqual(scaledDotProductAttentionBackward(q, k, v, dO, model).dsinks?.shape, [3]);
  });
});

describe('tensor construction errors', () => {
  it('data length that does not match the shape → E_SHAPE', () => {
    assertThrows(() => tensor([1, 2, 3], [2, 2]), 'E_SHAPE', ['tensor:', '3 values', '[2,2]']);
    assertThrows(() => new Tensor(new Float32Array(3), [2, 2], 'float32'), 'E_SHAPE', ['Tensor:', '3 elements', '[2,2]']);
  });

  it('a non-integer or negative dimension → E_SHAPE', () => {
    assertThrows(() => tensor([1, 2, 3], [1.5, 2]), 'E_SHAPE', ['tensor:', '1.5']);
    assertThrows(() => zeros([2, -1]), 'E_SHAPE', ['zeros:', '-1']);
    assertThrows(() => randn([NaN]), 'E_SHAPE', ['randn:', 'NaN']);
  });

  it('an unknown dtype → E_DTYPE', () => {
    assertThrows(() => tensor([1], [1], { dtype: 'int8' as never }), 'E_DTYPE', ['tensor:', 'int8']);
    assertThrows(() => new Tensor(new Float64Array(1), [1], 'float32'), 'E_DTYPE', ['Tensor:', 'Float64Array']);
  });
});
