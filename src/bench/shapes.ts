import { ScaledotError } from '../tensor/index.js';

/**
 * The benchmark's problem shapes and the FLOP counts its GFLOP/s divide by.
 * A shape is heads × N × d with L = S = N (batch 1; "8x1024x64" is 8 heads).
 */
export interface BenchShape {
  name: string;
  heads: number;
  n: number;
  d: number;
  causal: boolean;
}

export type Direction = 'forward' | 'backward';

/** The common training shapes, a long sequence, a wide head and a causal long one. */
export const FULL_SHAPES = ['8x512x64', '8x1024x64', '1x4096x64', '1x4096x128', 'causal-1x16384x64'];

/** --quick: a smoke run of about two minutes: short, multi-head and causal problems, 4× to 64× less work each. */
export const QUICK_SHAPES = ['8x256x64', '8x512x64', 'causal-1x2048x64'];

/** "8x1024x64" or "causal-1x16384x64" → a shape; anything else is an error naming the form. */
export function parseShape(text: string): BenchShape {
  const match = /^(causal-)?(\d+)x(\d+)x(\d+)$/.exec(text.trim());
  if (!match) throw new ScaledotError('E_OPTION', `bench: shape ${JSON.stringify(text)} is not HEADSxNxD or causal-HEADSxNxD (e.g. 8x1024x64)`);
  const [heads, n, d] = [Number(match[2]), Number(match[3]), Number(match[4])];
  if (heads < 1 || n < 1 || d < 1) throw new ScaledotError('E_OPTION', `bench: shape ${text} needs every dimension >= 1`);
  return { name: text.trim(), heads, n, d, causal: match[1] !== undefined };
}

/**
 * Query-key pairs one head computes: N² without a mask, N(N+1)/2 causal
 * (query i sees keys 0..i). Counting only visible pairs means a causal kernel
 * that skips the masked half gets no credit for work it did not do.
 */
export function visiblePairs(shape: BenchShape): number {
  return shape.causal ? (shape.n * (shape.n + 1)) / 2 : shape.n * shape.n;
}

/**
 * Floating-point operations, counting a multiply-add as 2, of the matrix
 * products only (softmax is O(N²) without the factor d):
 *   forward  = 2 products (Q Kᵀ, P V)                 = 4 · heads · pairs · d
 *   backward = 5 products (Q Kᵀ, dO Vᵀ, Pᵀ dO, dSᵀ Q, dS K) = 10 · heads · pairs · d
 * FlashAttention's convention, so figures compare with published ones.
 */
export function flopCount(shape: BenchShape, direction: Direction): number {
  return (direction === 'forward' ? 4 : 10) * shape.heads * visiblePairs(shape) * shape.d;
}
