// Tile sizes shared by the kernels and reported to the loader, which pads
// l to a multiple of BR and s to a multiple of BC when it lays out memory.
// A BR x BC score tile (16 KiB) and a BC-key block of Kᵀ and V (16 KiB each
// at E = 64) stay in L1/L2 while BR query rows are reused against them. BR =
// 64 rather than 32 halves the Kᵀ/V traffic per flop: on long sequences
// (1x16384x64 causal), where K and V outgrow L2, that measured 27 rather
// than 22 GFLOP/s per core; at 8x1024x64 the two are equal.

/** Query rows per block (a multiple of 8: it is a column count in the backward tiles). */
export const BR: i32 = 64;
/** Keys per block (a multiple of 8). */
export const BC: i32 = 64;
