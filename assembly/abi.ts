// The job block both sides agree on. Its constants (control-block offsets,
// job kinds, parameter slots) are generated into abi-generated.ts from
// src/attention/wasm/abi.ts by build.mjs; the loader checks ABI_VERSION
// against the module's `abiVersion()`.
//
// Byte layout at `ctrl`:
//   0  i64 claim word: gen (16 bits) | nTasks (24 bits) | next task (24 bits)
//   8  i32 wake: bumped once per job; idle workers wait on it
//  12  i32 done: tasks finished in the current job; the caller waits on it
//  16  i32 error: set by a worker whose job trapped
//  64  4-byte param slots, PARAM_BASE + 4 * slot

export * from './abi-generated';

import { PARAM_BASE } from './abi-generated';

@inline export function param(ctrl: usize, slot: i32): i32 {
  return load<i32>(ctrl + PARAM_BASE + (<usize>slot << 2));
}

@inline export function paramF(ctrl: usize, slot: i32): f32 {
  return load<f32>(ctrl + PARAM_BASE + (<usize>slot << 2));
}

@inline export function paramPtr(ctrl: usize, slot: i32): usize {
  return <usize>load<u32>(ctrl + PARAM_BASE + (<usize>slot << 2));
}
