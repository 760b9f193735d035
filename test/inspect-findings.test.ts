import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeHead, headFindings, headsShape, type QkView } from '../src/inspect/index.js';

/** One head, one batch: q [L, D] and k [S, D] given row by row. */
function head(q: number[][], k: number[][], scale: number, causal: boolean): ReturnType<typeof headFindings> {
  const view = (rows: number[][]): QkView => ({ data: Float64Array.from(rows.flat()), ...headsShape('t', [1, 1, rows.length, rows[0].length], 'bhld', undefined, '--heads') });
  return headFindings(analyzeHead('L', view(q), view(k), 0, scale, causal));
}

const kinds = (f: ReturnType<typeof headFindings>): string[] => f.map((x) => x.kind).sort();

describe('inspect findings', () => {
  it('names a saturated head, with the what-if shares behind it', () => {
    // Each query matches one key by a wide margin: logits 0 and ±20 → max p > 0.99 on every row.
    const f = head([[10, 0], [0, 10], [10, 0]], [[2, 0], [0, 2], [-2, 0]], 1, false);
    assert.deepEqual(kinds(f), ['saturated']);
    assert.equal(f[0].figures.saturatedShare, 1);
    assert.match(f[0].text, /L head 0 is saturated: 100% of its rows put more than 0\.99 on one key/);
  });

  it('names a sink only where key 0 takes more than uniform rows would give it', () => {
    // Every query aligns with key 0 far more than with the others.
    const sink = head([[1, 0], [1, 0], [1, 0], [1, 0]], [[3, 0], [0, 1], [0, 1], [0, 1]], 1, false);
    assert.ok(kinds(sink).includes('sink'), JSON.stringify(sink));
    // Causal, all logits equal: key 0 gets 1/n of each row (mean 0.43 over rows with n = 2, 3, 4: 1/2, 1/3, 1/4),
    // which is what counting alone gives it: not a sink.
    assert.deepEqual(kinds(head([[0, 0], [0, 0], [0, 0], [0, 0]], [[1, 1], [1, 1], [1, 1], [1, 1]], 1, true)), []);
  });

  it('names float16 overflow of q·k before the scale, and a near miss', () => {
    // q·k = 300 · 300 = 90000 > 65504 on the diagonal pairs; 0 elsewhere.
    const over = head([[300, 0], [0, 300]], [[300, 0], [0, 300]], 1e-5, false);
    assert.deepEqual(kinds(over), ['fp16-overflow']);
    assert.equal(over[0].figures.overflowShare, 0.5);
    // 200 · 200 = 40000: within 4× of 65504 but not past it.
    const near = head([[200, 0], [0, 200]], [[200, 0], [0, 200]], 1e-5, false);
    assert.deepEqual(kinds(near), ['fp16-near-overflow']);
    assert.equal(near[0].figures.scoreMaxAbs, 40000);
  });
});
