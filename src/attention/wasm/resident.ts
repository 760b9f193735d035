import { kernelRuntime } from './loader.js';
import type { KernelRuntime } from './dispatch.js';

/**
 * Float32 storage that lives in the kernels' own WebAssembly memory, for data
 * that outlives a call: a KV cache's keys and values (createKvCache). The
 * decode kernel (assembly/decode.ts) reads such an array where it lies, so a
 * decoding step copies nothing but its query; any other array is copied in.
 *
 * Only over a shared memory: growing it leaves existing views valid, whereas
 * an unshared ArrayBuffer is detached by memory.grow (its views would read as
 * empty), so the one-thread module gets ordinary arrays. Regions sit below
 * KernelRuntime.heapStart, where each call's scratch begins, and are handed
 * back when their array is garbage collected (a subarray of it does not keep
 * the region: keep the array itself, as the cache's tensor does).
 */

/** Resident regions stop at 1 GiB, so that calls keep room in the 2 GiB the kernels address. */
const MAX_RESIDENT_END = 2 ** 30;

interface Region {
  at: number;
  bytes: number;
}

const offsets = new WeakMap<Float32Array | Uint16Array, number>();
/** A float32 array (a bfloat16-stored cache's keys or values) → the resident bfloat16 bits of the same values. */
const bf16Twins = new WeakMap<Float32Array, Uint16Array>();
const freeRegions: Region[] = [];
let released: FinalizationRegistry<Region> | null = null;

function release(rt: KernelRuntime, region: Region): void {
  freeRegions.push(region);
  // Regions at the top go back to the scratch: lower heapStart past them.
  freeRegions.sort((a, b) => a.at - b.at);
  for (let top = freeRegions.at(-1); top !== undefined && top.at + top.bytes === rt.heapStart; top = freeRegions.at(-1)) {
    rt.heapStart = top.at;
    freeRegions.pop();
  }
}

/**
 * A zeroed Float32Array of `length` in the kernels' memory, or null where
 * that cannot be (no wasm runtime yet, an unshared memory, or the resident
 * regions would pass 1 GiB): the caller then allocates an ordinary array.
 */
export function allocateResident(length: number): Float32Array | null {
  return allocateIn(Float32Array, length);
}

/**
 * For a KV cache stored in bfloat16 (kv-cache.ts): a zeroed Uint16Array of
 * `length` in the kernels' memory that holds the bfloat16 bits of `values`
 * (an ordinary float32 array of the same length, which the caller keeps equal
 * to them), or null where allocateResident would be. The decode kernel then
 * reads these 2-byte values in place of `values` (assembly/kv-elements.ts).
 */
export function allocateResidentBf16(values: Float32Array): Uint16Array | null {
  const bits = allocateIn(Uint16Array, values.length);
  if (bits !== null) bf16Twins.set(values, bits); // the WeakMap keeps the bits (and their region) while values lives
  return bits;
}

function allocateIn<A extends Float32Array | Uint16Array>(kind: { new (b: ArrayBufferLike, at: number, n: number): A; BYTES_PER_ELEMENT: number }, length: number): A | null {
  const rt = kernelRuntime();
  if (rt === null || typeof SharedArrayBuffer === 'undefined' || !(rt.memory.buffer instanceof SharedArrayBuffer)) return null;
  const bytes = Math.ceil((length * kind.BYTES_PER_ELEMENT) / 64) * 64;
  const hole = freeRegions.findIndex((r) => r.bytes >= bytes);
  let at: number;
  if (hole >= 0) {
    const r = freeRegions[hole];
    at = r.at;
    if (r.bytes > bytes) freeRegions[hole] = { at: r.at + bytes, bytes: r.bytes - bytes };
    else freeRegions.splice(hole, 1);
  } else {
    at = Math.ceil(rt.heapStart / 64) * 64;
    if (at + bytes > MAX_RESIDENT_END) return null;
    rt.reserve(at + bytes);
    rt.heapStart = at + bytes;
  }
  const array = new kind(rt.memory.buffer, at, length);
  array.fill(0); // a region may hold an earlier call's scratch or a collected cache's values
  offsets.set(array, at);
  released ??= new FinalizationRegistry((region) => release(rt, region));
  released.register(array, { at, bytes });
  return array;
}

/** The byte offset of `array` in the kernels' memory if allocateResident made it, else null. */
export function residentOffset(array: Float32Array | Float64Array): number | null {
  return array instanceof Float32Array ? offsets.get(array) ?? null : null;
}

/** The byte offset in the kernels' memory of the bfloat16 bits that stand for `array` (allocateResidentBf16), else null. */
export function residentBf16Offset(array: Float32Array | Float64Array): number | null {
  const bits = array instanceof Float32Array ? bf16Twins.get(array) : undefined;
  return bits === undefined ? null : offsets.get(bits) ?? null;
}
