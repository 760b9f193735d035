import { ScaledotError } from './error.js';

/**
 * The largest buffer scaledot allocates: 4 GiB. Past it a typed array either
 * cannot be made at all (a raw RangeError) or takes the machine's memory for
 * seconds before failing, and no CPU kernel here would finish on it anyway.
 * Every entry point that allocates from a shape (tensor creation, attention's
 * output) asks `checkBufferSize` first, so a huge call is refused before any
 * work with a count of what it would have needed.
 */
export const MAX_BUFFER_BYTES = 2 ** 32;

/** Throws E_SIZE when `elements` of `bytesPerElement` bytes each would exceed MAX_BUFFER_BYTES. */
export function checkBufferSize(fn: string, what: string, elements: number, bytesPerElement: number, dtype: string): void {
  const bytes = elements * bytesPerElement;
  if (Number.isSafeInteger(elements) && bytes <= MAX_BUFFER_BYTES) return;
  throw new ScaledotError(
    'E_SIZE',
    `${fn}: ${what} would hold ${count(elements)} elements, ${count(bytes)} bytes (${gib(bytes)}) of ${dtype}; ` +
      `scaledot refuses any single buffer over ${count(MAX_BUFFER_BYTES)} bytes (${gib(MAX_BUFFER_BYTES)}) before allocating it`,
  );
}

function count(x: number): string {
  return Number.isSafeInteger(x) ? x.toLocaleString('en-US') : x.toExponential(3);
}

function gib(bytes: number): string {
  return `${Number((bytes / 2 ** 30).toPrecision(4))} GiB`;
}
