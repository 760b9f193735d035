import { ScaledotError, Tensor, formatShape, sizeOf, type FloatDType } from '../tensor/index.js';

/** Storage of a Var: float64 for gradient checks, float32 for speed in training. */
export type Data = Float64Array | Float32Array;

/**
 * A node of the reverse-mode graph: a dense row-major array, its shape, and
 * (after `backward`) the gradient of the loss with respect to it.
 *
 * `backwardFn` reads `this.grad` (dL/dthis) and adds into the parents' grads:
 * adding, not assigning, is what lets one value feed several ops (residuals).
 * A Var that needs no gradient (data, or anything computed only from data)
 * keeps no parents, so the graph of a no-grad evaluation is never retained.
 */
export class Var {
  readonly data: Data;
  readonly shape: readonly number[];
  grad: Data | null = null;
  readonly requiresGrad: boolean;
  readonly parents: readonly Var[];
  readonly backwardFn: (() => void) | null;

  constructor(data: Data, shape: readonly number[], requiresGrad = false, parents: readonly Var[] = [], backwardFn: (() => void) | null = null) {
    if (data.length !== sizeOf(shape)) {
      throw new ScaledotError('E_SHAPE', `Var: data has ${data.length} elements but shape ${formatShape(shape)} needs ${sizeOf(shape)}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.requiresGrad = requiresGrad;
    this.parents = requiresGrad ? parents : [];
    this.backwardFn = requiresGrad ? backwardFn : null;
  }

  get size(): number {
    return this.data.length;
  }

  get dtype(): FloatDType {
    return this.data instanceof Float64Array ? 'float64' : 'float32';
  }

  /** dL/dthis, allocated as zeros the first time an op adds into it. */
  gradBuffer(): Data {
    if (this.grad === null) this.grad = allocLike(this.data, this.data.length);
    return this.grad;
  }

  /** The values as a library Tensor, without copying. */
  toTensor(): Tensor {
    return new Tensor(this.data, this.shape, this.dtype);
  }
}

/** A typed array of the same kind (float64 or float32) as `like`. */
export function allocLike(like: Data, size: number): Data {
  return like instanceof Float64Array ? new Float64Array(size) : new Float32Array(size);
}

export function allocDType(dtype: FloatDType, size: number): Data {
  if (dtype === 'float64') return new Float64Array(size);
  if (dtype === 'float32') return new Float32Array(size);
  throw new ScaledotError('E_DTYPE', `nn: dtype ${dtype} is not supported for training; use float64 or float32`);
}

/** A trainable leaf. */
export function parameter(data: Data, shape: readonly number[]): Var {
  return new Var(data, shape, true);
}

/** A constant leaf (inputs, targets): no gradient is kept for it. */
export function constant(data: Data, shape: readonly number[]): Var {
  return new Var(data, shape, false);
}

/**
 * The output of an op: it needs a gradient iff some input does, and only then
 * keeps its inputs and the closure that pushes gradients into them.
 */
export function result(data: Data, shape: readonly number[], parents: readonly Var[], backwardFn: () => void): Var {
  const needs = parents.some((p) => p.requiresGrad);
  return new Var(data, shape, needs, parents, backwardFn);
}

/**
 * Reverse-mode sweep from a scalar: dL/dL = 1, then every node after all the
 * nodes that read it (reverse topological order), so its gradient is complete
 * before it is pushed further back.
 */
export function backward(loss: Var): void {
  if (loss.size !== 1) {
    throw new ScaledotError('E_SHAPE', `backward: loss has shape ${formatShape(loss.shape)}; expected a single value`);
  }
  if (!loss.requiresGrad) {
    throw new ScaledotError('E_ARG', 'backward: loss does not depend on any parameter');
  }
  const order: Var[] = [];
  const seen = new Set<Var>();
  // Iterative DFS (a deep graph would overflow the call stack recursively).
  const stack: [Var, number][] = [[loss, 0]];
  seen.add(loss);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    if (next < node.parents.length) {
      top[1] = next + 1;
      const p = node.parents[next];
      if (p.requiresGrad && !seen.has(p)) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  loss.gradBuffer()[0] = 1;
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    if (node.backwardFn !== null && node.grad !== null) node.backwardFn();
  }
}
