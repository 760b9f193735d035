import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, ScaledotError } from '../src/tensor/index.js';
import { ATTENTION_RULES, Transformer, sampleNames } from '../src/nn/index.js';
import { cacheableRule } from '../src/nn/attention-layer.js';
import type { NamesData } from '../src/nn/data/names.js';
import { assertClose, maxAbs } from './helpers/close.js';

// The decoder (a KV cache per layer) must compute the same function as the full forward.
describe('Transformer.decoder', () => {
  it('sampleNames draws the same names with the cache as without it', () => {
    const chars = ['.', ...'abcdefghij'];
    const model = new Transformer({ vocabSize: chars.length, width: 16, layers: 2, heads: 2, headDim: 8, scaleRule: 'rsqrt', seed: 4 });
    const data = { chars } as unknown as NamesData;
    const cached = sampleNames(model, data, 6, 9, 1, 12);
    assert.deepEqual(cached, sampleNames(model, data, 6, 9, 1, 12, { cache: false }));
    assert.ok(cached.some((name) => name.length > 2), 'names long enough to use the cache');
  });

  it('sampleNames steps all names through one decoder as a batch, names of different lengths included', () => {
    const chars = ['.', ...'abcdefghij'];
    const model = new Transformer({ vocabSize: chars.length, width: 16, layers: 1, heads: 2, headDim: 8, scaleRule: 'rsqrt', seed: 5 });
    const data = { chars } as unknown as NamesData;
    const batches: number[] = [];
    const decoder = model.decoder.bind(model);
    model.decoder = (batch, maxLength) => {
      batches.push(batch);
      return decoder(batch, maxLength);
    };
    const names = sampleNames(model, data, 7, 3, 1, 10);
    assert.deepEqual(batches, [7]);
    assert.ok(new Set(names.map((n) => n.length)).size > 1, `names of one length only: ${names.join(', ')}`);
    assert.deepEqual(names, sampleNames(model, data, 7, 3, 1, 10, { cache: false }));
  });

  for (const scaleRule of ['log-length', 'ssmax'] as const) {
    it(`refuses the ${scaleRule} rule, whose logits change with the length`, () => {
      const model = new Transformer({ vocabSize: 5, width: 8, layers: 1, heads: 1, headDim: 8, scaleRule });
      assert.throws(() => model.decoder(1, 4), (err: unknown) => err instanceof ScaledotError && err.code === 'E_OPTION' && err.message.includes(scaleRule));
    });
  }

  for (const scaleRule of ATTENTION_RULES.filter(cacheableRule)) {
    it(`fed in chunks, gives the logits of the forward over the prefix at every position (${scaleRule}, token shift)`, () => {
      const model = new Transformer({ vocabSize: 11, width: 16, layers: 2, heads: 2, headDim: 8, scaleRule, dtype: 'float64', seed: 3 });
      // A learnt sink starts at 0 (softmax1's): give each head its own, as training would.
      for (const block of model.blocks) block.attn.sinkLogit?.data.set([0.7, -1.3]);
      const rng = new Rng(5);
      const [batch, length] = [2, 9];
      const ids = Int32Array.from({ length: batch * length }, () => rng.int(11));
      const full = model.forward(ids, batch, length).data;
      const prefix = (n: number) => model.forward(Int32Array.from({ length: batch * n }, (_, at) => ids[Math.floor(at / n) * length + (at % n)]), batch, n).data;
      const decoder = model.decoder(batch, length);
      // Chunks of 1, 3, 1, 4 positions: the cache, rope offsets and token shift all cross chunk borders.
      let t = 0;
      for (const size of [1, 3, 1, 4]) {
        const chunk = Int32Array.from({ length: batch * size }, (_, at) => ids[Math.floor(at / size) * length + t + (at % size)]);
        const logits = decoder.step(chunk, size).data;
        const upTo = prefix(t + size);
        for (let b = 0; b < batch; b++) {
          const expected = upTo.subarray((b * (t + size) + t) * 11, (b + 1) * (t + size) * 11);
          assertClose(logits.subarray(b * size * 11, (b + 1) * size * 11), expected, 1e-12 * (1 + maxAbs(expected)), `${scaleRule} positions ${t}..${t + size} of element ${b}`);
        }
        t += size;
      }
      assert.throws(() => decoder.step(Int32Array.of(1, 2), 1), /maxLength/);
      decoder.reset();
      const again = decoder.step(Int32Array.from([ids[0], ids[length]]), 1).data;
      assertClose(again.subarray(0, 11), full.subarray(0, 11), 1e-12 * (1 + maxAbs(full.subarray(0, 11))), 'after reset');
    });
  }
});
