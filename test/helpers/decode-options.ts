import fc from 'fast-check';

/**
 * A random subset of the model options a decoding step takes (softcap, ALiBi,
 * window, keyLengths, sinks, and which kind of attnMask) for hq query heads
 * over s keys in b batch elements: the draw the decode property tests share.
 */
export const decodeOptionsArb = (d: { b: number; s: number }, hq: number) => {
  const side = fc.integer({ min: -1, max: d.s });
  const arr = (x: fc.Arbitrary<number>, n: number) => fc.array(x, { minLength: n, maxLength: n });
  return fc.record({
    softcap: fc.option(fc.double({ min: 0.25, max: 5, noNaN: true }), { nil: undefined }),
    alibiSlopes: fc.option(arr(fc.double({ min: 0, max: 0.1, noNaN: true }), hq), { nil: undefined }),
    window: fc.option(fc.tuple(side, side), { nil: undefined }),
    keyLengths: fc.option(arr(fc.integer({ min: 0, max: d.s }), d.b), { nil: undefined }),
    sinks: fc.option(arr(fc.double({ min: -3, max: 3, noNaN: true }), hq), { nil: undefined }),
    mask: fc.constantFrom('none' as const, 'bool' as const, 'additive' as const),
  });
};
