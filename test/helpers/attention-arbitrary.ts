import fc from 'fast-check';
import type { FloatDType } from '../../src/tensor/index.js';

/** The sizes and options of one random attention problem: q [batch, hkv·group, l, e], k [batch, hkv, s, e], v [batch, hkv, s, ev]. */
export interface AttentionConfig {
  batch: number;
  hkv: number;
  /** Query heads per kv head (GQA when > 1). */
  group: number;
  l: number;
  s: number;
  e: number;
  ev: number;
  dtype: FloatDType;
  causal: boolean;
  maskKind: 'none' | 'bool' | 'additive';
  dropoutP: number;
  /** Seeds the problem's values (where a test draws them itself) and the dropout. */
  seed: number;
}

export interface ConfigRanges {
  dtypes: readonly FloatDType[];
  /** Inclusive [min, max] of l and s; e and ev run from 1 to their max. */
  l: [number, number];
  s: [number, number];
  maxE: number;
  maxEv: number;
  maxGroup: number;
  maskKinds: readonly AttentionConfig['maskKind'][];
  /** Dropout probabilities to draw from (repeat one to weight it). */
  dropoutPs: readonly number[];
}

/** The one fast-check arbitrary of attention problems that the property tests share; batch and kv heads run over 1…2. */
export function attentionConfigArb(r: ConfigRanges): fc.Arbitrary<AttentionConfig> {
  return fc.record({
    batch: fc.integer({ min: 1, max: 2 }),
    hkv: fc.integer({ min: 1, max: 2 }),
    group: fc.integer({ min: 1, max: r.maxGroup }),
    l: fc.integer({ min: r.l[0], max: r.l[1] }),
    s: fc.integer({ min: r.s[0], max: r.s[1] }),
    e: fc.integer({ min: 1, max: r.maxE }),
    ev: fc.integer({ min: 1, max: r.maxEv }),
    dtype: fc.constantFrom(...r.dtypes),
    causal: fc.boolean(),
    maskKind: fc.constantFrom(...r.maskKinds),
    dropoutP: fc.constantFrom(...r.dropoutPs),
    seed: fc.integer({ min: 0, max: 1000 }),
  });
}
