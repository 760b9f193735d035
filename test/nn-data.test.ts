import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng, ScaledotError } from '../src/tensor/index.js';
import { BigramModel } from '../src/nn/data/bigram.js';
import { charIndex, loadNames, namesBatch, splitNames } from '../src/nn/data/names.js';
import { recallBatch } from '../src/nn/data/recall.js';
import { IGNORE } from '../src/nn/loss.js';
import { makeNamesTask, makeRecallTask } from '../src/nn/tasks.js';

const isCode = (code: string) => (e: unknown): boolean => e instanceof ScaledotError && e.code === code;

describe('recall data', () => {
  it('every scored query asks for a key shown earlier and its target is that key\'s value', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 4 }), fc.integer(), (pairs, extra, seed) => {
      const symbols = pairs + extra;
      const b = recallBatch(new Rng(seed), 3, { symbols, pairs });
      assert.equal(b.length, 4 * pairs);
      for (let s = 0; s < b.batch; s++) {
        const o = s * b.length;
        const shown = new Map<number, number>();
        for (let i = 0; i < pairs; i++) {
          const key = b.ids[o + 2 * i];
          const value = b.ids[o + 2 * i + 1];
          assert.ok(key >= 0 && key < symbols && value >= symbols && value < 2 * symbols);
          assert.ok(!shown.has(key), 'keys in one sequence are distinct');
          shown.set(key, value);
          assert.equal(b.targets[o + 2 * i], IGNORE);
          assert.equal(b.targets[o + 2 * i + 1], IGNORE);
        }
        const asked = new Set<number>();
        for (let j = 0; j < pairs; j++) {
          const at = o + 2 * pairs + 2 * j;
          const key = b.ids[at];
          assert.equal(b.targets[at], shown.get(key));
          assert.equal(b.ids[at + 1], shown.get(key), 'the answer follows the question in the input');
          assert.equal(b.targets[at + 1], IGNORE);
          asked.add(key);
        }
        assert.equal(asked.size, pairs, 'every key is asked exactly once');
      }
    }), { numRuns: 40 });
  });

  it('is deterministic for a seed, and refuses more pairs than keys', () => {
    const a = recallBatch(new Rng(3), 2, { symbols: 8, pairs: 4 });
    const b = recallBatch(new Rng(3), 2, { symbols: 8, pairs: 4 });
    assert.deepEqual(a, b);
    assert.throws(() => recallBatch(new Rng(3), 2, { symbols: 4, pairs: 5 }), isCode('E_OPTION'));
  });

  it('validation at a multiple of the length has that many more pairs and is unseen by training', () => {
    const task = makeRecallTask(1, 4, 16);
    const long = task.validationAt(4);
    assert.equal(long[0].length, 4 * task.validation[0].length);
    const train = task.trainBatch(new Rng(1 + 7919), 4);
    assert.notDeepEqual(Array.from(train.ids.slice(0, 16)), Array.from(task.validation[0].ids.slice(0, 16)));
  });
});

describe('names data', () => {
  const names = loadNames();

  it('comes from the installed packages: thousands of lower-case names', () => {
    assert.ok(names.length > 5000, `${names.length} names`);
    assert.ok(names.includes('emma') && names.includes('john'));
    assert.ok(names.every((n) => n === n.toLowerCase() && n.length > 0));
    assert.equal(new Set(names).size, names.length);
  });

  it('splits by name: disjoint, complete, about 10% validation, the same for a seed and different across seeds', () => {
    const a = splitNames(names, 7);
    const b = splitNames(names, 7);
    const c = splitNames(names, 8);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.validation, c.validation);
    const val = new Set(a.validation);
    assert.ok(a.train.every((n) => !val.has(n)));
    assert.equal(a.train.length + a.validation.length, names.length);
    assert.ok(Math.abs(a.validation.length / names.length - 0.1) < 0.001);
    assert.equal(a.chars[0], '.');
  });

  it('frames a name as ".name" → "name." and pads with IGNORE', () => {
    const data = splitNames(['ab', 'c', 'abc'], 1);
    const index = charIndex(data);
    const b = namesBatch(['ab', 'c'], index);
    const [dot, ia, ib, ic] = ['.', 'a', 'b', 'c'].map((ch) => index.get(ch) as number);
    assert.equal(b.length, 3);
    assert.deepEqual(Array.from(b.ids), [dot, ia, ib, dot, ic, dot]);
    assert.deepEqual(Array.from(b.targets), [ia, ib, dot, ic, dot, IGNORE]);
    assert.throws(() => namesBatch(['a?'], index), isCode('E_ARG'));
    assert.throws(() => splitNames(['a.b', 'c'], 1), isCode('E_ARG'));
  });

  it('the bigram baseline is add-one smoothed counts, scored in nats per character', () => {
    const data = splitNames(['ab', 'abc', 'b'], 1);
    const index = charIndex(data);
    const train = namesBatch(['ab', 'abb'], index);
    const bigram = new BigramModel(data.chars.length, [train]);
    // Counted by hand from ".ab." and ".abb.": from "b": b→. twice, b→b once; V = 4 symbols (. a b c).
    const pBdot = (2 + 1) / (3 + 4);
    const pDotA = (2 + 1) / (2 + 4);
    const pAb = (2 + 1) / (2 + 4);
    const got = bigram.loss([namesBatch(['ab'], index)]);
    assert.equal(got.count, 3);
    assert.ok(Math.abs(got.nats - -(Math.log(pDotA) + Math.log(pAb) + Math.log(pBdot)) / 3) < 1e-12);
  });

  it('the names task fits the baseline on the training names only', () => {
    const task = makeNamesTask(0, names);
    const trainLoss = task.bigram.loss([namesBatch(task.data.train.slice(0, 500), charIndex(task.data))]).nats;
    const valLoss = task.bigram.loss(task.validation).nats;
    assert.ok(valLoss > 2 && valLoss < 3, `bigram validation ${valLoss}`);
    assert.ok(trainLoss < valLoss + 0.1);
    const scored = task.validation.reduce((n, b) => n + b.targets.filter((t) => t !== IGNORE).length, 0);
    assert.equal(scored, task.data.validation.reduce((n, name) => n + name.length + 1, 0));
  });
});
