import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScaledotError } from '../src/tensor/index.js';
import { SCALE_RULES } from '../src/nn/scale-rules.js';
import { resolveTrainConfig, train, trainSync, type TrainConfig } from '../src/nn/train.js';
import { sampleNames } from '../src/nn/sample.js';
import { trainManySync } from '../src/nn/parallel.js';
import type { NamesTask } from '../src/nn/tasks.js';

const isOption = (pattern: RegExp) => (e: unknown): boolean => e instanceof ScaledotError && e.code === 'E_OPTION' && pattern.test(e.message);

// Small models and few steps: these check the loop's behaviour, not the
// figures (those come from `scaledot train` and the lab, see docs/training.md).
const tiny: Omit<TrainConfig, 'task' | 'scaleRule' | 'steps'> = { headDim: 8, width: 16, seed: 3, batchSize: 8, recallPairs: 2, recallSymbols: 8 };

describe('train', () => {
  it('rejects unknown rules and tasks, a head dim that does not divide the width, and steps <= 0, before any work', () => {
    assert.throws(() => resolveTrainConfig({ ...tiny, task: 'recall', scaleRule: 'sqrt' as never, steps: 1 }), isOption(/scale rule "sqrt" is unknown/));
    assert.throws(() => resolveTrainConfig({ ...tiny, task: 'poems' as never, scaleRule: 'rsqrt', steps: 1 }), isOption(/task "poems" is unknown/));
    assert.throws(() => resolveTrainConfig({ ...tiny, task: 'names', scaleRule: 'rsqrt', steps: 1, headDim: 12 }), isOption(/head dim 12 does not divide the width 16/));
    assert.throws(() => resolveTrainConfig({ ...tiny, task: 'names', scaleRule: 'rsqrt', steps: 0 }), isOption(/steps is 0/));
    assert.throws(() => resolveTrainConfig({ ...tiny, task: 'names', scaleRule: 'rsqrt', steps: -5 }), isOption(/steps is -5/));
    assert.throws(() => resolveTrainConfig({ ...tiny, task: 'recall', scaleRule: 'rsqrt', steps: 1, recallPairs: 4, lengthMultiples: [4] }), isOption(/needs 16 distinct keys/));
  });

  it('every scale rule trains on recall: the loss falls and the run is deterministic for a seed', () => {
    for (const scaleRule of SCALE_RULES) {
      const config: TrainConfig = { ...tiny, task: 'recall', scaleRule, steps: 12, evalEvery: 6, lengthMultiples: [2] };
      const a = trainSync(config);
      assert.equal(a.stepsDone, 12);
      assert.deepEqual(a.curve.map((p) => p.step), [6, 12]);
      assert.ok(a.curve[1].valLoss < Math.log(16), `${scaleRule}: validation loss above uniform over the 16 tokens: ${a.curve[1].valLoss}`);
      assert.ok(a.curve[1].trainLoss < a.curve[0].trainLoss, `${scaleRule}: ${a.curve[0].trainLoss} → ${a.curve[1].trainLoss}`);
      assert.ok(Number.isFinite(a.initQGradNorm) && a.initQGradNorm > 0);
      assert.equal(a.lengths[0].length, 16);
      if (scaleRule === 'rsqrt') assert.deepEqual(trainSync(config).curve, a.curve);
    }
  });

  it('a stopped run keeps the steps it took', async () => {
    const controller = new AbortController();
    const r = await train({ ...tiny, task: 'recall', scaleRule: 'rsqrt', steps: 1000 }, {
      signal: controller.signal,
      onStep: (step) => {
        if (step === 3) controller.abort();
      },
    });
    assert.equal(r.stepsDone, 3);
    assert.equal(r.interrupted, true);
    assert.equal(r.curve[r.curve.length - 1].step, 3);
  });

  it('names: the loss falls below uniform, the bigram baseline is reported, samples are strings of the alphabet', () => {
    const r = trainSync({ ...tiny, task: 'names', scaleRule: 'rsqrt', steps: 15, evalEvery: 15 });
    const data = (r.task as NamesTask).data;
    assert.ok(r.final.valLoss < Math.log(data.chars.length), `validation ${r.final.valLoss}`);
    assert.ok(r.bigramValLoss !== null && r.bigramValLoss > 2 && r.bigramValLoss < 3);
    const names = sampleNames(r.model, data, 5, 1);
    assert.equal(names.length, 5);
    for (const n of names) assert.ok([...n].every((ch) => data.chars.includes(ch) && ch !== '.'), n);
  });

  it('trainManySync on two worker threads returns, in order, the records a single thread gives', () => {
    const configs: TrainConfig[] = [0, 1, 2].map((seed) => ({ ...tiny, task: 'recall', scaleRule: 'rsqrt', steps: 3, seed }));
    const parallel = trainManySync(configs, { threads: 2 });
    const serial = trainManySync(configs, { threads: 1 });
    assert.deepEqual(parallel.map((r) => r.curve), serial.map((r) => r.curve));
    assert.deepEqual(parallel.map((r) => r.config.seed), [0, 1, 2]);
    assert.notDeepEqual(serial[0].curve, serial[1].curve);
  });
});
