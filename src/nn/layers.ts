import { Rng, type FloatDType } from '../tensor/index.js';
import { Var, parameter } from './autograd.js';
import { filledData, initWeight, normalData, type InitScheme } from './init.js';
import { add, embedding, gelu, layerNorm, linear, rmsNorm } from './ops.js';

/** Anything with trainable parameters, each under a dotted name ("blocks.0.attn.wq"). */
export interface Module {
  parameters(): [string, Var][];
}

export function prefixed(prefix: string, module: Module): [string, Var][] {
  return module.parameters().map(([name, p]) => [`${prefix}.${name}`, p]);
}

/** y = x W + b, W: [in, out] initialised by LeCun or Xavier, b zeros. */
export class Linear implements Module {
  readonly weight: Var;
  readonly bias: Var | null;

  constructor(rng: Rng, nIn: number, nOut: number, options: { bias?: boolean; init?: InitScheme; dtype: FloatDType }) {
    this.weight = parameter(initWeight(rng, nIn, nOut, options.init ?? 'lecun', options.dtype), [nIn, nOut]);
    this.bias = options.bias === false ? null : parameter(filledData(nOut, 0, options.dtype), [nOut]);
  }

  forward(x: Var): Var {
    return linear(x, this.weight, this.bias);
  }

  parameters(): [string, Var][] {
    return this.bias === null ? [['weight', this.weight]] : [['weight', this.weight], ['bias', this.bias]];
  }
}

/** A table of vectors, one per token id, N(0, 1) at initialisation (a norm follows it). */
export class Embedding implements Module {
  readonly table: Var;

  constructor(rng: Rng, vocab: number, dim: number, dtype: FloatDType) {
    this.table = parameter(normalData(rng, vocab * dim, 1, dtype), [vocab, dim]);
  }

  forward(ids: Int32Array, shape: readonly number[]): Var {
    return embedding(this.table, ids, shape);
  }

  parameters(): [string, Var][] {
    return [['table', this.table]];
  }
}

/** LayerNorm over the last axis with a learned gain γ (initially 1) and bias β (initially 0). */
export class LayerNorm implements Module {
  readonly gamma: Var;
  readonly beta: Var;

  constructor(dim: number, dtype: FloatDType) {
    this.gamma = parameter(filledData(dim, 1, dtype), [dim]);
    this.beta = parameter(filledData(dim, 0, dtype), [dim]);
  }

  forward(x: Var): Var {
    return layerNorm(x, this.gamma, this.beta);
  }

  parameters(): [string, Var][] {
    return [['gamma', this.gamma], ['beta', this.beta]];
  }
}

/** RMSNorm over the last axis (no mean subtraction, no bias) with a learned gain γ, initially 1. */
export class RMSNorm implements Module {
  readonly gamma: Var;

  constructor(dim: number, dtype: FloatDType) {
    this.gamma = parameter(filledData(dim, 1, dtype), [dim]);
  }

  forward(x: Var): Var {
    return rmsNorm(x, this.gamma);
  }

  parameters(): [string, Var][] {
    return [['gamma', this.gamma]];
  }
}

export type NormKind = 'layer' | 'rms';

export function makeNorm(kind: NormKind, dim: number, dtype: FloatDType): LayerNorm | RMSNorm {
  return kind === 'layer' ? new LayerNorm(dim, dtype) : new RMSNorm(dim, dtype);
}

/** mlp(x) = W₂ gelu(W₁ x + b₁) + b₂, hidden width ratio · dim. */
export class MLP implements Module {
  readonly up: Linear;
  readonly down: Linear;

  constructor(rng: Rng, dim: number, ratio: number, dtype: FloatDType) {
    this.up = new Linear(rng, dim, dim * ratio, { dtype });
    this.down = new Linear(rng, dim * ratio, dim, { dtype });
  }

  forward(x: Var): Var {
    return this.down.forward(gelu(this.up.forward(x)));
  }

  parameters(): [string, Var][] {
    return [...prefixed('up', this.up), ...prefixed('down', this.down)];
  }
}

/** x + f(x): the residual connection every block is built from. */
export function residual(x: Var, f: (x: Var) => Var): Var {
  return add(x, f(x));
}
