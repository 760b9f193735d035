import { modelRowKeys, type ModelLogits } from './figures.js';
import type { TensorData } from './stored.js';
import type { QkView } from './view.js';

/** The most cells a drawn map has per side: longer sequences are pooled, so memory and the page stay bounded. */
export const MAP_CELLS = 64;
/** The side of the small maps in the layers × heads grid (pooled again from the large ones). */
export const GRID_CELLS = 16;

/**
 * One head's attention weights for one batch element, pooled to at most
 * `cells` × `cells`: cell (r, c) is the mean weight over its block of
 * ⌈L/cells⌉ queries × ⌈S/cells⌉ keys, of the pairs in that block that are not
 * masked; a block with none is NaN (drawn empty). Below the cap a cell is one
 * query and one key.
 */
export interface AttentionMap {
  layer: string;
  head: number;
  sample: number;
  queries: number;
  keys: number;
  rows: number;
  cols: number;
  /** Queries per row block, keys per column block. */
  rowBlock: number;
  colBlock: number;
  /** rows × cols, row-major; NaN where every pair of the block is masked or padding. */
  weights: Float32Array;
}

/**
 * The weights softmax(s·q·k) of query head `head` in batch element `sample`,
 * under the same masks as analyzeHead: causal (bottom-right), the sample's key
 * length (later keys and queries are padding), or the model's own logits and
 * the keys it masked.
 */
export function attentionMap(layer: string, q: QkView, k: QkView, head: number, sample: number, scale: number, causal: boolean, model?: ModelLogits, lengths?: ArrayLike<number>, cells = MAP_CELLS): AttentionMap {
  const kvHead = Math.floor(head / (q.heads / k.heads));
  const { length: L, dim: D } = q;
  const S = k.length;
  const pool = new Pooler(L, S, cells);
  const keys = new Int32Array(S);
  const given = new Float64Array(S);
  const logits = new Float64Array(S);
  const valid = lengths === undefined ? S : lengths[sample];
  for (let i = 0; i < L; i++) {
    if (i + S - L >= valid) continue;
    const n = model !== undefined ? modelRowKeys(model.data, ((sample * q.heads + head) * L + i) * S, S, keys, given) : Math.min(valid, causal ? i + S - L + 1 : S);
    if (n === 0) continue;
    const qBase = sample * q.strideB + head * q.strideH + i * q.strideL;
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      if (model === undefined) {
        keys[j] = j;
        const kBase = sample * k.strideB + kvHead * k.strideH + j * k.strideL;
        let dot = 0;
        for (let e = 0; e < D; e++) dot += q.data[qBase + e] * k.data[kBase + e];
        logits[j] = scale * dot;
      } else logits[j] = given[j];
      if (logits[j] > max) max = logits[j];
    }
    let total = 0;
    for (let j = 0; j < n; j++) total += (logits[j] = Math.exp(logits[j] - max));
    for (let j = 0; j < n; j++) pool.add(i, keys[j], logits[j] / total);
  }
  return pool.map(layer, head, sample);
}

/**
 * The map of weights a model computed itself (an ONNX graph's Softmax output,
 * [batch, heads, L, S] row-major), not recomputed: a pair is drawn where the
 * model's logit there is not masked (modelRowKeys, as the figures read it), so
 * the masked keys are the model's own and the weights are exactly its own.
 */
export function modelWeightsMap(layer: string, head: number, sample: number, dims: { heads: number; queries: number; keys: number }, weights: TensorData, logits: TensorData, cells = MAP_CELLS): AttentionMap {
  const { heads: H, queries: L, keys: S } = dims;
  const pool = new Pooler(L, S, cells);
  const keys = new Int32Array(S);
  const given = new Float64Array(S);
  for (let i = 0; i < L; i++) {
    const base = ((sample * H + head) * L + i) * S;
    const n = modelRowKeys(logits, base, S, keys, given);
    for (let j = 0; j < n; j++) pool.add(i, keys[j], weights[base + keys[j]]);
  }
  return pool.map(layer, head, sample);
}

/** Sums weights into blocks of ⌈L/cells⌉ queries × ⌈S/cells⌉ keys; a block's cell is the mean of the pairs added to it. */
class Pooler {
  readonly rowBlock: number;
  readonly colBlock: number;
  readonly rows: number;
  readonly cols: number;
  private readonly sum: Float64Array;
  private readonly count: Float64Array;
  constructor(readonly queries: number, readonly keys: number, cells: number) {
    this.rowBlock = Math.ceil(queries / cells);
    this.colBlock = Math.ceil(keys / cells);
    this.rows = Math.ceil(queries / this.rowBlock);
    this.cols = Math.ceil(keys / this.colBlock);
    this.sum = new Float64Array(this.rows * this.cols);
    this.count = new Float64Array(this.rows * this.cols);
  }
  add(query: number, key: number, weight: number): void {
    const cell = Math.floor(query / this.rowBlock) * this.cols + Math.floor(key / this.colBlock);
    this.sum[cell] += weight;
    this.count[cell]++;
  }
  map(layer: string, head: number, sample: number): AttentionMap {
    const weights = new Float32Array(this.rows * this.cols);
    for (let c = 0; c < weights.length; c++) weights[c] = this.count[c] === 0 ? NaN : this.sum[c] / this.count[c];
    const { queries, keys, rows, cols, rowBlock, colBlock } = this;
    return { layer, head, sample, queries, keys, rows, cols, rowBlock, colBlock, weights };
  }
}

/** A map pooled again to at most `cells` per side: each new cell is the mean of its block's non-empty cells. */
export function poolMap(map: AttentionMap, cells: number): AttentionMap {
  const rb = Math.ceil(map.rows / cells);
  const cb = Math.ceil(map.cols / cells);
  if (rb === 1 && cb === 1) return map;
  const rows = Math.ceil(map.rows / rb);
  const cols = Math.ceil(map.cols / cb);
  const sum = new Float64Array(rows * cols);
  const count = new Float64Array(rows * cols);
  for (let r = 0; r < map.rows; r++) {
    for (let c = 0; c < map.cols; c++) {
      const w = map.weights[r * map.cols + c];
      if (Number.isNaN(w)) continue;
      const cell = Math.floor(r / rb) * cols + Math.floor(c / cb);
      sum[cell] += w;
      count[cell]++;
    }
  }
  const weights = new Float32Array(rows * cols);
  for (let c = 0; c < weights.length; c++) weights[c] = count[c] === 0 ? NaN : sum[c] / count[c];
  return { ...map, rows, cols, rowBlock: map.rowBlock * rb, colBlock: map.colBlock * cb, weights };
}
