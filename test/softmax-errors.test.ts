import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScaledotError, tensor, type Tensor } from '../src/tensor/index.js';
import { logSoftmax, logSoftmaxBackward, logsumexp, softmax, softmaxBackward } from '../src/softmax/index.js';

/** Asserts a ScaledotError with this code whose message contains every fragment. */
function throwsScaledot(run: () => unknown, code: string, ...fragments: string[]): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof ScaledotError, `expected a ScaledotError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const f of fragments) assert.ok(err.message.includes(f), `message "${err.message}" should mention ${f}`);
    return true;
  });
}

const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
const asTensor = (v: unknown): Tensor => v as Tensor;

describe('softmax family: bad input gets a ScaledotError before any work', () => {
  const unary = { softmax, logSoftmax, logsumexp } as const;
  for (const [name, op] of Object.entries(unary)) {
    it(`${name}: non-tensor, bool, axis out of range, bad options`, () => {
      throwsScaledot(() => op(asTensor([1, 2, 3])), 'E_ARG', name, 'x');
      throwsScaledot(() => op(asTensor(null)), 'E_ARG', name, 'x');
      throwsScaledot(() => op(tensor([1, 0], [2], { dtype: 'bool' })), 'E_DTYPE', name, 'bool');
      throwsScaledot(() => op(x, { axis: 2 }), 'E_OPTION', name, 'axis 2', '[2,3]');
      throwsScaledot(() => op(x, { axis: -3 }), 'E_OPTION', name, 'axis -3');
      throwsScaledot(() => op(x, { axis: 0.5 }), 'E_OPTION', name, 'axis 0.5');
      throwsScaledot(() => op(tensor([5], [])), 'E_OPTION', name, 'rank 0');
      throwsScaledot(() => op(x, 3 as never), 'E_OPTION', name, 'options');
      throwsScaledot(() => op(x, { axes: 1 } as never), 'E_OPTION', name, '"axes"');
    });
  }

  it('softmax: unknown algorithm', () => {
    throwsScaledot(() => softmax(x, { algorithm: 'fast' as never }), 'E_OPTION', 'softmax', '"fast"', 'safe, online, naive');
    throwsScaledot(() => logSoftmax(x, { algorithm: 'safe' } as never), 'E_OPTION', 'logSoftmax', '"algorithm"');
  });

  for (const [name, op, a, b] of [
    ['softmaxBackward', softmaxBackward, 'y', 'dy'],
    ['logSoftmaxBackward', logSoftmaxBackward, 'z', 'dz'],
  ] as const) {
    it(`${name}: mismatched shapes or dtypes, non-tensors, bad axis`, () => {
      throwsScaledot(() => op(x, tensor([1, 2, 3, 4, 5, 6], [3, 2])), 'E_SHAPE', name, b, '[3,2]', '[2,3]');
      throwsScaledot(() => op(x, tensor([1, 2, 3], [3])), 'E_SHAPE', name, '[3]');
      throwsScaledot(() => op(x, tensor([1, 2, 3, 4, 5, 6], [2, 3], { dtype: 'float64' })), 'E_DTYPE', name, b, 'float64', 'float32');
      throwsScaledot(() => op(asTensor(undefined), x), 'E_ARG', name, a);
      throwsScaledot(() => op(x, asTensor({ data: [1] })), 'E_ARG', name, b);
      throwsScaledot(() => op(x, tensor([1, 0, 1, 0, 1, 0], [2, 3], { dtype: 'bool' })), 'E_DTYPE', name, b, 'bool');
      throwsScaledot(() => op(x, x, { axis: 5 }), 'E_OPTION', name, 'axis 5');
    });
  }
});
