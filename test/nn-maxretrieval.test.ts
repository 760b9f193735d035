import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/tensor/index.js';
import { IGNORE } from '../src/nn/loss.js';
import { maxRetrievalBatch } from '../src/nn/data/maxretrieval.js';
import { Transformer } from '../src/nn/transformer.js';
import { Trainer, trainSync } from '../src/nn/train.js';

describe('maxretrieval', () => {
  it('has one winner per set, the target is its id, and only the query is scored', () => {
    const spec = { items: 40, priorities: 16, labels: 8 };
    const b = maxRetrievalBatch(new Rng(3), 50, spec);
    for (let s = 0; s < b.batch; s++) {
      const o = s * b.length;
      const items = Array.from(b.ids.subarray(o, o + spec.items));
      const priorities = items.map((id) => Math.floor(id / spec.labels));
      const top = Math.max(...priorities);
      assert.equal(priorities.filter((p) => p === top).length, 1, 'a unique winner');
      assert.ok(top >= spec.priorities / 2);
      assert.equal(b.ids[o + spec.items], spec.priorities * spec.labels, 'the query token');
      assert.equal(b.targets[o + spec.items], items[priorities.indexOf(top)]);
      for (let i = 0; i < spec.items; i++) assert.equal(b.targets[o + i], IGNORE);
    }
  });

  it("answer 'label' targets the winner's label, and many priority levels draw from all of them", () => {
    const spec = { items: 200, priorities: 64, labels: 4, answer: 'label' as const };
    const b = maxRetrievalBatch(new Rng(5), 40, spec);
    const seen = new Set<number>();
    for (let s = 0; s < b.batch; s++) {
      const o = s * b.length;
      const items = Array.from(b.ids.subarray(o, o + spec.items));
      const priorities = items.map((id) => Math.floor(id / spec.labels));
      priorities.forEach((p) => seen.add(p));
      const winner = items[priorities.indexOf(Math.max(...priorities))];
      assert.equal(b.targets[o + spec.items], winner % spec.labels);
      assert.equal(b.ids[o + spec.items], spec.priorities * spec.labels, 'the query token');
    }
    assert.ok(seen.size > 48 && Math.max(...seen) < spec.priorities, `${seen.size} levels seen`);
  });

  it('train passes priorityLevels, retrievalLabels and retrievalAnswer to the task, and rejects bad ones', () => {
    const t = new Trainer({ task: 'maxretrieval', scaleRule: 'rsqrt', headDim: 8, heads: 1, width: 16, layers: 1, steps: 1, seed: 2, validationSize: 8, priorityLevels: 32, retrievalLabels: 2, retrievalAnswer: 'label' });
    const b = t.task.validation[0];
    assert.ok(Math.max(...b.ids) === 32 * 2, 'the query id is levels × labels');
    for (let s = 0; s < b.batch; s++) assert.ok(b.targets[(s + 1) * b.length - 1] < 2);
    assert.throws(() => new Trainer({ task: 'maxretrieval', scaleRule: 'rsqrt', headDim: 8, steps: 1, seed: 2, priorityLevels: 1 }), (e: any) => e.code === 'E_OPTION' && /priorityLevels is 1/.test(e.message));
    assert.throws(() => new Trainer({ task: 'maxretrieval', scaleRule: 'rsqrt', headDim: 8, steps: 1, seed: 2, retrievalAnswer: 'id' as never }), (e: any) => e.code === 'E_OPTION' && /retrievalAnswer/.test(e.message));
  });

  it("readout 'last' gives the full model's last-position logits", () => {
    for (const scaleRule of ['rsqrt', 'ssmax', 'sink', 'softmax1', 'softcap'] as const) {
      const config = { vocabSize: 11, width: 8, layers: 2, heads: 2, headDim: 4, scaleRule, dtype: 'float64' as const, seed: 4, rope: false, tokenShift: false, impl: 'reference' as const };
      const full = new Transformer(config);
      const last = new Transformer({ ...config, readout: 'last' });
      const ids = Int32Array.from({ length: 2 * 7 }, (_, i) => (i * 5) % 11);
      const a = full.forward(ids, 2, 7).data;
      const b = last.forward(ids, 2, 7).data;
      assert.equal(b.length, 2 * 11);
      for (let s = 0; s < 2; s++) for (let v = 0; v < 11; v++) assert.ok(Math.abs(a[(s * 7 + 6) * 11 + v] - b[s * 11 + v]) < 1e-12, scaleRule);
    }
  });

  it('a diverging run stops before the bad update and keeps finite parameters and figures', () => {
    const r = trainSync({ task: 'maxretrieval', scaleRule: 'none', headDim: 8, heads: 1, width: 16, layers: 1, steps: 40, lr: 500, seed: 2, evalEvery: 1, validationSize: 16, trackAttention: true });
    assert.notEqual(r.divergedAt, null);
    assert.equal(r.stepsDone, (r.divergedAt as number) - 1);
    assert.equal(r.interrupted, false);
    for (const [, p] of r.model.parameters()) assert.ok(p.data.every(Number.isFinite));
    for (const p of r.curve) assert.ok([p.trainLoss, p.valLoss, p.accuracy].every(Number.isFinite));
    assert.equal(r.steps.length, r.divergedAt);
    const t = new Trainer({ task: 'maxretrieval', scaleRule: 'rsqrt', headDim: 8, heads: 1, width: 16, layers: 1, steps: 3, seed: 2, validationSize: 16 });
    while (!t.done) t.advance();
    assert.equal(t.divergedAt, null);
  });
});
