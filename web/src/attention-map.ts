import { randn, scaledDotProductAttentionAsync, tensor, type Tensor } from '../../src/index.js';

export type ScaleRule = 'sqrt' | 'none' | 'linear';

export interface AttentionInputs {
  /** [L, E], [S, E], [S, Ev] as rows. */
  q: number[][];
  k: number[][];
  v: number[][];
}

export interface AttentionMapSettings {
  causal: boolean;
  /** The last `padded` keys are padding: no query may attend to them. */
  padded: number;
  scaleRule: ScaleRule;
}

export interface AttentionMap {
  scale: number;
  /** [L, S] attention weights; a masked cell is 0. */
  weights: number[][];
  /** [L, S]: whether query i may attend to key j. */
  visible: boolean[][];
  /** [L, Ev] = weights · V. */
  output: number[][];
}

/** Value dimension of the random V: small, so the output heatmap stays readable. */
export const VALUE_DIM = 4;

/** Q, K, V ~ N(0, 1), drawn with seeds seed, seed + 1, seed + 2 (float64). */
export function randomInputs(l: number, s: number, e: number, seed: number): AttentionInputs {
  const rows = (t: Tensor): number[][] => t.toArray() as number[][];
  return {
    q: rows(randn([l, e], { seed, dtype: 'float64' })),
    k: rows(randn([s, e], { seed: seed + 1, dtype: 'float64' })),
    v: rows(randn([s, VALUE_DIM], { seed: seed + 2, dtype: 'float64' })),
  };
}

export function scaleFor(rule: ScaleRule, e: number): number {
  if (rule === 'none') return 1;
  return rule === 'linear' ? 1 / e : 1 / Math.sqrt(e);
}

/** The impl and dtype the maps are computed with (attention-backend.ts picks them in the page). */
export interface MapBackend {
  impl: 'webgpu' | 'wasm' | 'auto';
  dtype: 'float32' | 'float64';
}

/**
 * The weights and the output, both from the library's attention: the weights
 * are the output of the same call with V = I_S, since then O = P·I = P.
 * Through the async form, so the same code runs every impl, webgpu included.
 */
export async function attentionMap(inputs: AttentionInputs, settings: AttentionMapSettings, backend: MapBackend = { impl: 'auto', dtype: 'float64' }): Promise<AttentionMap> {
  const l = inputs.q.length;
  const s = inputs.k.length;
  const e = inputs.q[0]?.length ?? 0;
  const { dtype, impl } = backend;
  const q = tensor(inputs.q, [l, e], { dtype });
  const k = tensor(inputs.k, [s, e], { dtype });
  const v = tensor(inputs.v, [s, inputs.v[0]?.length ?? 0], { dtype });
  const keep = Array.from({ length: s }, (_, j) => j < s - settings.padded);
  const attnMask = tensor([keep], [1, s], { dtype: 'bool' });
  const scale = scaleFor(settings.scaleRule, e);
  const options = { attnMask, isCausal: settings.causal, scale, impl };
  const identity = tensor(Array.from({ length: s }, (_, i) => Array.from({ length: s }, (_, j) => (i === j ? 1 : 0))), [s, s], { dtype });
  const [weightsT, outputT] = await Promise.all([scaledDotProductAttentionAsync(q, k, identity, options), scaledDotProductAttentionAsync(q, k, v, options)]);
  const weights = weightsT.toArray() as number[][];
  const output = outputT.toArray() as number[][];
  // Bottom-right aligned causal rule, as the library documents it: query i sees key j iff j <= i + S − L.
  const visible = weights.map((_, i) => keep.map((kept, j) => kept && (!settings.causal || j <= i + s - l)));
  return { scale, weights, visible, output };
}

/** A matrix as text: one row per line, values separated by spaces. */
export function formatMatrix(rows: number[][], digits = 3): string {
  return rows.map((row) => row.map((x) => x.toFixed(digits)).join(' ')).join('\n');
}

/**
 * Text back to a matrix of the given shape, or a message saying what is wrong
 * (the page shows it instead of computing with a half-read matrix).
 */
export function parseMatrix(name: string, text: string, rows: number, columns: number): number[][] | string {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  if (lines.length !== rows) return `${name}: ${lines.length} rows, expected ${rows}`;
  const matrix: number[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const values = lines[i].split(/[\s,]+/).map(Number);
    if (values.length !== columns) return `${name}: row ${i + 1} has ${values.length} values, expected ${columns}`;
    const bad = values.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) return `${name}: row ${i + 1}, value ${bad + 1} is not a finite number`;
    matrix.push(values);
  }
  return matrix;
}
