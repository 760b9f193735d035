import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { randn } from '../../src/index.js';

/** The attention weights the explainer page's attention section shows (its data-weights). */
export const pageWeights = async (page: Page): Promise<number[][]> =>
  JSON.parse((await page.getByTestId('section-attention').getAttribute('data-weights')) ?? '[]') as number[][];

/**
 * softmax(q kᵀ / √e) for the page's default draw (q from seed 3, k from seed
 * 4), computed here in plain float64 math; causal hides key j from row i where
 * j > i + s − l (the last query row sees every key).
 */
export function expectedPageWeights(l: number, s: number, e: number, causal: boolean): number[][] {
  const q = randn([l, e], { seed: 3, dtype: 'float64' }).data;
  const k = randn([s, e], { seed: 4, dtype: 'float64' }).data;
  return Array.from({ length: l }, (_, i) => {
    const scores = Array.from({ length: s }, (_, j) => {
      if (causal && j > i + s - l) return -Infinity;
      let dot = 0;
      for (let t = 0; t < e; t++) dot += q[i * e + t] * k[j * e + t];
      return dot / Math.sqrt(e);
    });
    const m = Math.max(...scores);
    const exps = scores.map((x) => Math.exp(x - m));
    const sum = exps.reduce((x, y) => x + y, 0);
    return exps.map((x) => x / sum);
  });
}

/** Every shown weight within 1e-6 of the expected one (float32 accuracy). */
export function assertWeightsClose(shown: number[][], want: number[][], label: string): void {
  assert.equal(shown.length, want.length, label);
  want.forEach((row, i) => row.forEach((w, j) => assert.ok(Math.abs(shown[i][j] - w) < 1e-6, `${label}: P[${i}][${j}] = ${shown[i][j]}, expected ${w}`)));
}
