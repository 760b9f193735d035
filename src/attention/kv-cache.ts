import {
  ScaledotError, Tensor, allocate, checkBufferSize, checkFloatTensor, formatShape, isFloatDType, storageClass, type FloatDType,
} from '../tensor/index.js';
import { describeValue, isPlainObject } from '../tensor/plain.js';
import { writeBf16Rows } from './kv-bf16.js';
import { allocateResident, allocateResidentBf16 } from './wasm/resident.js';
import { gpuKvStorage } from './webgpu/resident.js';

/**
 * A key/value cache for decoding one token (or a few) at a time:
 *
 *   const cache = createKvCache({ batch, heads: Hkv, headDim: E, maxLength });
 *   cache.append(k, v);                               // k (batch, Hkv, T, E), v (batch, Hkv, T, Ev)
 *   scaledDotProductAttention(q, cache.keys, cache.values, { keyLengths: cache.lengths, isCausal: true });
 *
 * keys (batch, Hkv, maxLength, E) and values (batch, Hkv, maxLength, Ev) are
 * the cache's own tensors and `append` writes them in place: the one
 * documented exception to "scaledot never mutates a tensor". Positions at or
 * past lengths[b] hold stale or zero values that keyLengths masks out, and
 * causal alignment per element (off = lengths[b] − L) puts the L new queries
 * at the end of each element's keys.
 */
export interface KvCacheOptions {
  batch: number;
  /** Hkv: the key/value heads. */
  heads: number;
  headDim: number;
  /** Ev; default headDim. */
  valueDim?: number;
  maxLength: number;
  /** Any float dtype; default float32. */
  dtype?: FloatDType;
  /**
   * How keys and values are held. 'float32' (the default; float64 for a float64
   * cache) keeps them as given. 'bfloat16' (dtype float32 or bfloat16 only, not
   * with impl 'webgpu') rounds each appended value to bfloat16, to nearest, ties
   * to even, so that `keys` and `values` hold the rounded values (still float32
   * tensors of `dtype`, which every backend reads), and keeps their 16-bit
   * bits in the wasm kernels' memory too: the wasm decode kernel reads those, half
   * the bytes, and computes in float32. Where the kernels' memory is not shared
   * (the one-thread module, or a browser before initWasmAttention) only the
   * rounding happens. Write to the cache through `append` alone: a value
   * written into `keys.data` would not reach the 16-bit copy.
   */
  storage?: 'float32' | 'bfloat16';
  /**
   * 'webgpu': keys and values also live on the GPU (after `await webgpu.init()`),
   * each append uploads only its rows, and impl 'webgpu' reads them there
   * instead of uploading the whole cache per call (docs/webgpu.md). Not float64.
   */
  impl?: 'webgpu';
}

export interface KvCache {
  readonly keys: Tensor;
  readonly values: Tensor;
  /** Filled positions per batch element, a fresh copy at each read (writing to it changes nothing): pass it as keyLengths. */
  readonly lengths: Int32Array;
  readonly maxLength: number;
  /** How keys and values are held: KvCacheOptions.storage. */
  readonly storage: 'float32' | 'bfloat16';
  /**
   * Appends T positions: k (batch, Hkv, T, E) and v (batch, Hkv, T, Ev) to
   * every element, or with batchIndex k (Hkv, T, E) and v (Hkv, T, Ev) to
   * that element alone. Past maxLength it throws and changes nothing.
   */
  append(k: Tensor, v: Tensor, options?: { batchIndex?: number }): void;
  /** Empties every element (lengths 0); the storage is kept. */
  reset(): void;
}

const CACHE_KEYS = ['batch', 'heads', 'headDim', 'valueDim', 'maxLength', 'dtype', 'storage', 'impl'] as const;
const APPEND_KEYS = ['batchIndex'] as const;

/** As attention checks its options: a plain object whose keys are all known, so a typo (dtyp, maxLen) is an error, not a default. */
function checkKeys(fn: string, what: string, options: unknown, known: readonly string[]): void {
  if (!isPlainObject(options)) throw new ScaledotError('E_OPTION', `${fn}: ${what} must be a plain object, got ${describeValue(options)}`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new ScaledotError('E_OPTION', `${fn}: unknown option ${JSON.stringify(key)}; expected one of ${known.join(', ')}`);
  }
}

function checkCount(fn: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ScaledotError('E_OPTION', `${fn}: ${name} is ${String(value)}; expected an integer >= ${min}`);
  }
  return value;
}

/**
 * A KV cache for `options.batch` elements of `options.heads` key/value heads,
 * room for `options.maxLength` positions, every length 0 (see KvCacheOptions).
 * Bad counts are E_OPTION, a dtype that is not a float or a storage that does
 * not fit it E_DTYPE, and keys or values
 * over MAX_BUFFER_BYTES E_SIZE, before anything is allocated.
 */
export function createKvCache(options: KvCacheOptions): KvCache {
  const fn = 'createKvCache';
  checkKeys(fn, 'options', options, CACHE_KEYS);
  const batch = checkCount(fn, 'batch', options.batch, 1);
  const heads = checkCount(fn, 'heads', options.heads, 1);
  const e = checkCount(fn, 'headDim', options.headDim, 0);
  const ev = checkCount(fn, 'valueDim', options.valueDim ?? e, 0);
  const maxLength = checkCount(fn, 'maxLength', options.maxLength, 1);
  const dtype = options.dtype ?? 'float32';
  if (!isFloatDType(dtype)) throw new ScaledotError('E_DTYPE', `${fn}: dtype is ${String(dtype)}; expected a float dtype`);
  if (options.impl !== undefined && options.impl !== 'webgpu') throw new ScaledotError('E_OPTION', `${fn}: impl is ${describeValue(options.impl)}; expected 'webgpu' or none (a CPU cache)`);
  const storageDType = options.storage ?? 'float32';
  if (storageDType !== 'float32' && storageDType !== 'bfloat16') {
    throw new ScaledotError('E_DTYPE', `${fn}: storage is ${describeValue(options.storage)}; expected 'float32' or 'bfloat16'`);
  }
  const bf16 = storageDType === 'bfloat16';
  if (bf16 && dtype !== 'float32' && dtype !== 'bfloat16') {
    throw new ScaledotError('E_DTYPE', `${fn}: storage 'bfloat16' holds float32 or bfloat16 values, but dtype is ${dtype}; use dtype 'float32' or 'bfloat16', or storage 'float32'`);
  }
  if (bf16 && options.impl === 'webgpu') {
    throw new ScaledotError('E_OPTION', `${fn}: storage 'bfloat16' is read by the wasm decode kernel, not impl 'webgpu'; leave out impl, or use storage 'float32'`);
  }
  const bytes = storageClass(dtype).BYTES_PER_ELEMENT;
  checkBufferSize(fn, `keys [${batch}, ${heads}, ${maxLength}, ${e}]`, batch * heads * maxLength * e, bytes, dtype);
  checkBufferSize(fn, `values [${batch}, ${heads}, ${maxLength}, ${ev}]`, batch * heads * maxLength * ev, bytes, dtype);
  // Where it can, the storage lives in the wasm kernels' memory (resident.ts), in the
  // layout their decode kernel reads: a decoding step then copies no key or value.
  const gpu = options.impl === 'webgpu' ? gpuKvStorage(fn, dtype) : null;
  // A bfloat16-stored cache keeps ordinary float32 arrays for keys and values, and
  // puts only their 16-bit twins (the bits that the kernel reads) in the kernels' memory.
  const storage = (n: number) => gpu?.allocate(n) ?? (dtype === 'float64' || bf16 ? null : allocateResident(n)) ?? allocate(dtype, n);
  const keys = new Tensor(storage(batch * heads * maxLength * e), [batch, heads, maxLength, e], dtype);
  const values = new Tensor(storage(batch * heads * maxLength * ev), [batch, heads, maxLength, ev], dtype);
  const keyBits = bf16 ? allocateResidentBf16(keys.data as Float32Array) : null;
  const valueBits = bf16 ? allocateResidentBf16(values.data as Float32Array) : null;
  const lengths = new Int32Array(batch);

  /** Copies T rows of width w for element b from src (heads, T, w) at srcBase into dst (and its bfloat16 bits) at position lengths[b]. */
  const write = (dst: Tensor, bits: Uint16Array | null, src: Tensor, srcBase: number, b: number, t: number, w: number) => {
    for (let h = 0; h < heads; h++) {
      const from = srcBase + h * t * w;
      const to = ((b * heads + h) * maxLength + lengths[b]) * w;
      if (bf16) writeBf16Rows(src.data as Float32Array, from, t * w, dst.data as Float32Array, to, bits);
      else dst.data.set(src.data.subarray(from, from + t * w), to);
      gpu?.written(dst.data as Float32Array, to, t * w);
    }
  };

  return {
    keys, values, maxLength, storage: storageDType,
    // A copy: the live array written to (99, say) would break the next append and call.
    get lengths() {
      return lengths.slice();
    },
    append(k: Tensor, v: Tensor, appendOptions: { batchIndex?: number } = {}) {
      const afn = 'KvCache.append';
      checkKeys(afn, 'options', appendOptions, APPEND_KEYS);
      checkFloatTensor(afn, 'k', k);
      checkFloatTensor(afn, 'v', v);
      const index = appendOptions.batchIndex;
      if (index !== undefined && (!Number.isInteger(index) || index < 0 || index >= batch)) {
        throw new ScaledotError('E_OPTION', `${afn}: batchIndex is ${String(index)}; expected an integer in [0, ${batch - 1}]`);
      }
      const lead = index === undefined ? [batch, heads] : [heads];
      const form = index === undefined ? '(batch, heads, T, ·)' : '(heads, T, ·) with batchIndex';
      const t = k.shape[lead.length];
      for (const [name, x, w] of [['k', k, e], ['v', v, ev]] as const) {
        if (x.dtype !== dtype) throw new ScaledotError('E_DTYPE', `${afn}: ${name} has dtype ${x.dtype} but the cache holds ${dtype}`);
        const expected = [...lead, t, w];
        if (x.rank !== expected.length || x.shape.some((d, i) => d !== expected[i])) {
          throw new ScaledotError('E_SHAPE', `${afn}: ${name} has shape ${formatShape(x.shape)}; expected ${form} = ${formatShape(expected)} (k ${formatShape(k.shape)}, v ${formatShape(v.shape)})`);
        }
      }
      const targets = index === undefined ? Array.from({ length: batch }, (_, b) => b) : [index];
      for (const b of targets) {
        if (lengths[b] + t > maxLength) {
          throw new ScaledotError('E_SHAPE', `${afn}: appending ${t} positions to batch element ${b}, which holds ${lengths[b]}, would pass maxLength ${maxLength}; nothing was written`);
        }
      }
      for (const [n, b] of targets.entries()) {
        write(keys, keyBits, k, n * heads * t * e, b, t, e);
        write(values, valueBits, v, n * heads * t * ev, b, t, ev);
        lengths[b] += t;
      }
    },
    reset() {
      lengths.fill(0);
    },
  };
}
