import { ScaledotError } from '../tensor/index.js';
import type { Var } from './autograd.js';

export interface Optimizer {
  /** Applies one update from the parameters' current gradients at learning rate lr. */
  step(lr: number): void;
  zeroGrad(): void;
}

/** Weight decay only on matrices (weights, embeddings), never on gains, biases or temperatures. */
function decays(p: Var): boolean {
  return p.shape.length >= 2;
}

function checkParams(fn: string, params: Var[]): void {
  for (const p of params) {
    if (!p.requiresGrad) throw new ScaledotError('E_ARG', `${fn}: a parameter of shape [${p.shape.join(',')}] does not require a gradient`);
  }
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/**
 * AdamW (Loshchilov & Hutter): with g the gradient, bias-corrected moments
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
 *   θ ← θ − lr (m̂ / (√v̂ + ε) + λθ)
 * Dividing by √v̂ makes the step size independent of the gradient's scale,
 * which is why Adam can hide a vanishing gradient that SGD shows.
 */
export class AdamW implements Optimizer {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;

  constructor(readonly params: Var[], options: AdamWOptions = {}) {
    checkParams('AdamW', params);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.99;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    this.m = params.map((p) => new Float64Array(p.size));
    this.v = params.map((p) => new Float64Array(p.size));
  }

  step(lr: number): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    this.params.forEach((p, i) => {
      if (p.grad === null) return;
      const m = this.m[i];
      const v = this.v[i];
      const wd = decays(p) ? this.weightDecay : 0;
      for (let j = 0; j < p.size; j++) {
        const g = p.grad[j];
        m[j] = this.beta1 * m[j] + (1 - this.beta1) * g;
        v[j] = this.beta2 * v[j] + (1 - this.beta2) * g * g;
        p.data[j] -= lr * (m[j] / c1 / (Math.sqrt(v[j] / c2) + this.eps) + wd * p.data[j]);
      }
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
}

export interface SgdOptions {
  momentum?: number;
  weightDecay?: number;
}

/**
 * SGD with (heavy-ball) momentum and decoupled weight decay:
 *   b ← μb + g,   θ ← θ − lr (b + λθ)
 * The step is proportional to the gradient, so a small gradient means slow learning.
 */
export class SgdMomentum implements Optimizer {
  private readonly buf: Float64Array[];
  private readonly momentum: number;
  private readonly weightDecay: number;

  constructor(readonly params: Var[], options: SgdOptions = {}) {
    checkParams('SgdMomentum', params);
    this.momentum = options.momentum ?? 0.9;
    this.weightDecay = options.weightDecay ?? 0;
    this.buf = params.map((p) => new Float64Array(p.size));
  }

  step(lr: number): void {
    this.params.forEach((p, i) => {
      if (p.grad === null) return;
      const b = this.buf[i];
      const wd = decays(p) ? this.weightDecay : 0;
      for (let j = 0; j < p.size; j++) {
        b[j] = this.momentum * b[j] + p.grad[j];
        p.data[j] -= lr * (b[j] + wd * p.data[j]);
      }
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
}

/** ‖g‖₂ over all the given parameters' gradients (missing gradients count as zero). */
export function gradNorm(params: Var[]): number {
  let ss = 0;
  for (const p of params) if (p.grad !== null) for (let j = 0; j < p.size; j++) ss += p.grad[j] * p.grad[j];
  return Math.sqrt(ss);
}

/**
 * Rescales all gradients together so their global norm is at most maxNorm
 * (the direction is kept); returns the norm before clipping.
 */
export function clipGradNorm(params: Var[], maxNorm: number): number {
  const norm = gradNorm(params);
  if (norm > maxNorm && norm > 0) {
    const s = maxNorm / norm;
    for (const p of params) if (p.grad !== null) for (let j = 0; j < p.size; j++) p.grad[j] *= s;
  }
  return norm;
}

/** Linear warmup over `warmup` steps, then cosine decay to 10% of the peak at `total`. */
export function learningRate(step: number, total: number, peak: number, warmup: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (0.1 + 0.45 * (1 + Math.cos(Math.PI * progress)));
}
