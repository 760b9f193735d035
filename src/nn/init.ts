import { Rng, type FloatDType } from '../tensor/index.js';
import { allocDType, type Data } from './autograd.js';

export type InitScheme = 'lecun' | 'xavier';

/**
 * Seeded normal initialisation of a [fanIn, fanOut] weight:
 *   LeCun:  std = 1/√fanIn            keeps the output variance equal to the input's
 *   Xavier: std = √(2/(fanIn+fanOut)) balances forward and backward variance
 * LeCun is the default for attention projections on purpose: it is what makes
 * q and k have unit-variance components, so Var(q·k) = d_k at initialisation,
 * the premise of the 1/√d_k scale.
 */
export function initWeight(rng: Rng, fanIn: number, fanOut: number, scheme: InitScheme, dtype: FloatDType): Data {
  const std = scheme === 'lecun' ? 1 / Math.sqrt(fanIn) : Math.sqrt(2 / (fanIn + fanOut));
  return normalData(rng, fanIn * fanOut, std, dtype);
}

export function normalData(rng: Rng, size: number, std: number, dtype: FloatDType): Data {
  const out = allocDType(dtype, size);
  for (let i = 0; i < size; i++) out[i] = std * rng.normal();
  return out;
}

export function filledData(size: number, value: number, dtype: FloatDType): Data {
  const out = allocDType(dtype, size);
  out.fill(value);
  return out;
}
