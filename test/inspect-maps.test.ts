import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors, type SpecTensor } from './helpers/tensor-files.js';
import { runCli } from './helpers/cli.js';
import { headsShape, type HeadFigures, type QkView } from '../src/inspect/index.js';
import { attentionMap, poolMap } from '../src/inspect/maps.js';
import { headHeatmap } from '../src/inspect/charts.js';

const B = 2;
const H = 2;
const T = 6;
const D = 8;
const LENGTHS = [6, 4];

/** The test's own values, as float32 stores them. */
const values = (n: number, seed: number, std: number): number[] => Array.from({ length: n }, (_, i) => Math.fround(std * Math.sin(1 + i * 1.7 + seed * 3.1)));

/** softmax(q·k/√D) row i of (layer's q, k), head h, batch b, by its definition over keys j ≤ i, j < length. */
function expectedRow(q: number[], k: number[], b: number, h: number, i: number, length: number): number[] {
  const at = (x: number[], l: number, e: number): number => x[((b * H + h) * T + l) * D + e];
  const logits: number[] = [];
  for (let j = 0; j <= i && j < length; j++) {
    let dot = 0;
    for (let e = 0; e < D; e++) dot += at(q, i, e) * at(k, j, e);
    logits.push(dot / Math.sqrt(D));
  }
  const max = Math.max(...logits);
  const exps = logits.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, x) => a + x, 0);
  return exps.map((x) => x / sum);
}

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaledot-inspect-maps-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('inspect --out attention maps', () => {
  const n = B * H * T * D;
  const layers = [0, 1].map((l) => ({ q: values(n, 2 * l + 1, l === 1 ? 6 : 1), k: values(n, 2 * l + 2, 1) }));
  const file = (): string => {
    const tensors: SpecTensor[] = layers.flatMap(({ q, k }, l) => [
      { name: `layers.${l}.attn.q`, dtype: 'F32', shape: [B, H, T, D], values: q },
      { name: `layers.${l}.attn.k`, dtype: 'F32', shape: [B, H, T, D], values: k },
    ]);
    tensors.push({ name: 'key_lengths', dtype: 'F32', shape: [B], values: LENGTHS });
    const path = join(dir, 'maps.safetensors');
    writeSafetensors(path, tensors);
    return path;
  };

  it('draws one small map per layer × head, and a large map whose cells are the softmax of the sample\'s q·k (masked keys empty)', async () => {
    const out = join(dir, 'report');
    const r = await runCli(['inspect', file(), '--causal', '--sample', '1', '--out', out]);
    assert.equal(r.code, 0, r.err);
    const html = readFileSync(join(out, 'inspect.html'), 'utf8');
    const grid = [...html.matchAll(/<g class="map" data-layer="([^"]+)" data-head="(\d+)">/g)].map((m) => `${m[1]}/${m[2]}`);
    assert.deepEqual(grid.sort(), ['layers.0.attn/0', 'layers.0.attn/1', 'layers.1.attn/0', 'layers.1.attn/1']);
    assert.doesNotMatch(html, /<script/);

    const large = /<svg [^>]*class="map-large" data-layer="([^"]+)" data-head="(\d+)"[^]*?<\/svg>/.exec(html);
    assert.ok(large !== null, 'a large map');
    // The chosen head is the one with the most saturated rows, by the JSON's own figures.
    const doc = JSON.parse((await runCli(['inspect', file(), '--causal', '--json', '-'])).out);
    const most = doc.heads.reduce((a: HeadFigures, h: HeadFigures) => (h.saturatedShare > a.saturatedShare ? h : a));
    assert.ok(most.saturatedShare > 0, 'the test model has a saturated head');
    assert.deepEqual([large[1], Number(large[2])], [most.layer, most.head]);

    const { q, k } = layers[Number(/layers\.(\d)/.exec(most.layer)?.[1])];
    const cells = new Map([...large[0].matchAll(/<title>q (\d+) · k (\d+): ([\d.e-]+)<\/title>/g)].map((m) => [`${m[1]},${m[2]}`, Number(m[3])]));
    let checked = 0;
    for (let i = 0; i < T; i++) {
      const row = i < LENGTHS[1] ? expectedRow(q, k, 1, most.head, i, LENGTHS[1]) : [];
      for (let j = 0; j < T; j++) {
        const got = cells.get(`${i},${j}`);
        if (j >= row.length) {
          assert.equal(got, undefined, `q ${i} · k ${j} is masked or padding: drawn empty`);
          continue;
        }
        assert.ok(got !== undefined && Math.abs(got - row[j]) <= 1e-5 * Math.max(1, row[j]), `q ${i} · k ${j}: got ${got}, expected ${row[j]}`);
        checked++;
      }
    }
    assert.equal(checked, 10, 'the 4 real queries read 1 + 2 + 3 + 4 keys');
  });

  it('--sample out of the batch, or not an index, exits 2 naming the flag and the batch', async () => {
    const r = await runCli(['inspect', file(), '--sample', '2', '--out', join(dir, 'no')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--sample is 2; layer layers\.0\.attn has a batch of 2, so expected an integer from 0 to 1/);
    for (const bad of ['-1', '1.5', 'x']) {
      const s = await runCli(['inspect', file(), '--sample', bad, '--out', join(dir, 'no')]);
      assert.equal(s.code, 2, bad);
      assert.match(s.err, /--sample is/);
    }
  });
});

describe('attentionMap pooling', () => {
  it('past the cap, a cell is the mean weight over its block of queries × keys; poolMap averages again', () => {
    const L = 130;
    const d = 4;
    const q = Float64Array.from({ length: L * d }, (_, i) => Math.sin(i * 0.37));
    const k = Float64Array.from({ length: L * d }, (_, i) => Math.cos(i * 0.53));
    const view = (data: Float64Array): QkView => ({ data, ...headsShape('t', [1, 1, L, d], 'bhld', undefined, '--heads') });
    const map = attentionMap('x', view(q), view(k), 0, 0, 0.5, true);
    assert.deepEqual([map.rowBlock, map.colBlock, map.rows, map.cols], [3, 3, 44, 44]);
    // Block (10, 4): queries 30..32, keys 12..14, all unmasked under causal.
    const weight = (i: number, j: number): number => {
      const logits = Array.from({ length: i + 1 }, (_, jj) => 0.5 * [0, 1, 2, 3].reduce((s, e) => s + q[i * d + e] * k[jj * d + e], 0));
      const max = Math.max(...logits);
      const sum = logits.reduce((s, x) => s + Math.exp(x - max), 0);
      return Math.exp(logits[j] - max) / sum;
    };
    let mean = 0;
    for (let i = 30; i < 33; i++) for (let j = 12; j < 15; j++) mean += weight(i, j) / 9;
    assert.ok(Math.abs(map.weights[10 * 44 + 4] - mean) < 1e-6);
    // Block (0, 1): query 0..2 read keys ≤ 2 only, so keys 3..5 are all masked: empty.
    assert.ok(Number.isNaN(map.weights[1]));
    // Causal: the diagonal block (1, 1) holds only the pairs j ≤ i: (3,3), (4,3), (4,4), (5,3), (5,4), (5,5).
    const diag = [[3, 3], [4, 3], [4, 4], [5, 3], [5, 4], [5, 5]].reduce((s, [i, j]) => s + weight(i, j), 0) / 6;
    assert.ok(Math.abs(map.weights[44 + 1] - diag) < 1e-6);
    const small = poolMap(map, 16);
    assert.deepEqual([small.rows, small.cols, small.rowBlock], [15, 15, 9]);
    assert.ok(Math.abs(small.weights[0] - [0, 44, 45, 88, 89, 90].map((c) => map.weights[c]).reduce((a, b) => a + b, 0) / 6) < 1e-6, 'the non-empty cells of the first block');
  });
});

describe('inspect heat map', () => {
  const head = (layer: string, h: number, firstKeyMass: number): HeadFigures => ({
    layer, head: h, queries: 4, keys: 4, headDim: 2, logitStd: h + 1, logitMax: 1, entropyRatioMean: 0.5, maxProbMean: 0.5, saturatedShare: 0,
    jacobianNormMedian: 0.1 * h, firstKeyMass, topKey: { position: 0, mass: 0.3 }, fp16: { scoreMaxAbs: h, overflowShare: 0 },
    whatIf: {} as HeadFigures['whatIf'],
  });

  it('paints an all-zero column light, not mid-shade, and puts the head number before a long layer name', () => {
    const spec = headHeatmap([head('neck.svtr.blocks.0.mixer', 0, 0), head('neck.svtr.blocks.0.mixer', 1, 0)]);
    const cells = (spec.data as { values: { head: string; figure: string; shade: number }[] }).values;
    for (const c of cells.filter((x) => x.figure === 'firstKeyMass')) assert.equal(c.shade, 0);
    assert.deepEqual(cells.filter((x) => x.figure === 'logitStd').map((c) => c.head), ['h0 · neck.svtr.blocks.0.mixer', 'h1 · neck.svtr.blocks.0.mixer']);
  });
});
