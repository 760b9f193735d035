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

/** The constants of a float dtype: its largest finite value, epsilon, unit roundoff, ln(max), … */
export function dtypeInfo(dtype: FloatDType): DTypeInfo {
  return INFOS[dtype];
}

/** Whether `dtype` names one of the float dtypes ('float64', 'float32', 'float16', 'bfloat16'). */
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
 *
 * How: for |x| in [2^e, 2^(e+1)) the format's spacing is 2^(e − mantissaBits)
 * (fixed at the smallest normal exponent in the subnormal range). Adding and
 * subtracting C = 1.5 · 2^(e + 52 − mantissaBits) makes the float64 adder
 * itself round |x| to a multiple of that spacing, ties to even. C is looked up
 * by the float64 exponent bits of |x|: no log2 per value.
 */
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // the word with the exponent

function formatRounder(f: Format, max: number): (x: number) => number {
  // max + half its spacing: from here on rounding goes to ±Infinity (max's last bit is odd, so the tie goes up).
  const overflow = max + 2 ** (f.maxExponent - f.mantissaBits - 1);
  const adders = new Float64Array(2048);
  for (let biased = 0; biased < 2048; biased++) {
    const e = Math.max(biased - 1023, f.minExponent);
    adders[biased] = 1.5 * 2 ** (e + 52 - f.mantissaBits);
  }
  return (x: number): number => {
    const a = Math.abs(x);
    if (!(a < overflow)) return a === a ? (x > 0 ? Infinity : -Infinity) : NaN;
    scratch[0] = a;
    const c = adders[(scratchWords[HIGH_WORD] >>> 20) & 0x7ff];
    const r = a + c - c;
    return x < 0 || 1 / x < 0 ? -r : r; // 1/x < 0 keeps the sign of −0
  };
}

/** x rounded to the nearest float16 value (ties to even); ±Infinity from ±65520 on, where IEEE rounding overflows. */
export const roundFloat16: (x: number) => number = formatRounder(FORMATS.float16, INFOS.float16.max);

/** x rounded to the nearest bfloat16 value (ties to even); ±Infinity past its largest finite value. */
export const roundBfloat16: (x: number) => number = formatRounder(FORMATS.bfloat16, INFOS.bfloat16.max);

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
