import { ScaledotError } from './error.js';

export type FloatDType = 'float64' | 'float32' | 'float16' | 'bfloat16';
export type DType = FloatDType | 'bool';

export const FLOAT_DTYPES: readonly FloatDType[] = ['float64', 'float32', 'float16', 'bfloat16'];
export const DTYPES: readonly DType[] = [...FLOAT_DTYPES, 'bool'];

/**
 * IEEE-style binary formats: `mantissaBits` stored fraction bits, `minExponent`
 * the exponent of the smallest normal number, `maxExponent` of the largest.
 */
interface Format {
  mantissaBits: number;
  minExponent: number;
  maxExponent: number;
}

const FORMATS: Record<FloatDType, Format> = {
  float64: { mantissaBits: 52, minExponent: -1022, maxExponent: 1023 },
  float32: { mantissaBits: 23, minExponent: -126, maxExponent: 127 },
  float16: { mantissaBits: 10, minExponent: -14, maxExponent: 15 },
  bfloat16: { mantissaBits: 7, minExponent: -126, maxExponent: 127 },
};

export interface DTypeInfo {
  dtype: FloatDType;
  /** Machine epsilon: the gap between 1 and the next representable number. */
  eps: number;
  /** Unit roundoff, eps / 2: the largest relative error of one rounding. */
  unitRoundoff: number;
  /** Largest finite value. */
  max: number;
  /** Smallest positive normal value. */
  minNormal: number;
  /** ln(max): the largest x with exp(x) finite in this dtype. */
  lnMax: number;
}

function infoOf(dtype: FloatDType): DTypeInfo {
  const f = FORMATS[dtype];
  const eps = 2 ** -f.mantissaBits;
  const max = (2 - eps) * 2 ** f.maxExponent;
  return { dtype, eps, unitRoundoff: eps / 2, max, minNormal: 2 ** f.minExponent, lnMax: Math.log(max) };
}

const INFOS: Record<FloatDType, DTypeInfo> = {
  float64: infoOf('float64'),
  float32: infoOf('float32'),
  float16: infoOf('float16'),
  bfloat16: infoOf('bfloat16'),
};

export function dtypeInfo(dtype: FloatDType): DTypeInfo {
  return INFOS[dtype];
}

export function isFloatDType(dtype: unknown): dtype is FloatDType {
  return typeof dtype === 'string' && (FLOAT_DTYPES as readonly string[]).includes(dtype);
}

export function checkDType(fn: string, arg: string, dtype: unknown): DType {
  if (typeof dtype === 'string' && (DTYPES as readonly string[]).includes(dtype)) return dtype as DType;
  throw new ScaledotError('E_DTYPE', `${fn}: ${arg} is ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(', ')}`);
}

/**
 * Round a float64 value to the nearest value of a binary format, ties to even,
 * with gradual underflow (subnormals) and overflow to ±Infinity: what IEEE 754
 * hardware does. Rounding straight from float64 (not via float32) avoids the
 * double-rounding error a two-step conversion makes on rare ties.
 */
function roundToFormat(x: number, f: Format, max: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  // log2 can be off by one right next to a power of two; pin e so 2^e <= a < 2^(e+1).
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  if (e < f.minExponent) e = f.minExponent; // subnormal range: fixed spacing
  const ulp = 2 ** (e - f.mantissaBits);
  const q = a / ulp; // exact: dividing by a power of two
  const fl = Math.floor(q);
  const frac = q - fl;
  let n = fl;
  if (frac > 0.5 || (frac === 0.5 && fl % 2 === 1)) n = fl + 1;
  const r = n * ulp;
  if (r > max) return x > 0 ? Infinity : -Infinity;
  return x > 0 ? r : -r;
}

const F16_MAX = INFOS.float16.max;
const BF16_MAX = INFOS.bfloat16.max;

export function roundFloat16(x: number): number {
  return roundToFormat(x, FORMATS.float16, F16_MAX);
}

export function roundBfloat16(x: number): number {
  return roundToFormat(x, FORMATS.bfloat16, BF16_MAX);
}

const identity = (x: number): number => x;

/** The rounding function of a float dtype: float64 is exact, float32 is Math.fround. */
export function rounder(dtype: FloatDType): (x: number) => number {
  switch (dtype) {
    case 'float64':
      return identity;
    case 'float32':
      return Math.fround;
    case 'float16':
      return roundFloat16;
    case 'bfloat16':
      return roundBfloat16;
  }
}

/** Round a value to a dtype (bool: nonzero is 1). */
export function roundTo(dtype: DType, x: number): number {
  if (dtype === 'bool') return x ? 1 : 0;
  return rounder(dtype)(x);
}
