// The module's entry points. Every thread (the caller and each worker)
// instantiates this module over one shared memory; a job is described in the
// control block at `ctrl` (see abi.ts) and split into tasks that threads claim
// one at a time, so uneven tasks (causal) balance themselves. A worker's wait
// for the next job is JavaScript (src/attention/wasm/worker-source.ts), not a
// loop here: see there why.

import { ABI_VERSION, CLAIM, DONE, param, P_KIND, KIND_FORWARD_PACK, KIND_FORWARD, KIND_BACKWARD_PREP,
  KIND_BACKWARD_KV, KIND_BACKWARD_DQ, KIND_DECODE, KIND_DECODE_MERGE } from './abi';
import { BR, BC } from './blocks';
import { forwardBlock, packKBlock } from './forward';
import { backwardPrep, backwardKeyChunk, backwardReduceDq } from './backward';
import { decodeChunk, decodeMerge } from './decode';

// The nn package's float64 linear product (src/nn/matmul.ts), called directly on the calling thread.
export { gemmF64Add } from './gemm64';

export function abiVersion(): i32 {
  return ABI_VERSION;
}

export function blockRows(): i32 {
  return BR;
}

export function blockCols(): i32 {
  return BC;
}

// Claim word: gen (16 bits) | nTasks (24) | next (24). Holding the task count
// in the same word as the generation means a thread that read a stale job can
// never claim a task of the next one: its compare-exchange fails.
@inline
function claim(ctrl: usize, gen: u64): i32 {
  while (true) {
    const word = atomic.load<u64>(ctrl + CLAIM);
    if (word >> 48 != gen) return -1;
    const next = <i32>(word & 0xffffff);
    const n = <i32>((word >> 24) & 0xffffff);
    if (next >= n) return -1;
    if (atomic.cmpxchg<u64>(ctrl + CLAIM, word, word + 1) == word) return next;
  }
  return -1;
}

/** Task `task` of the current job, whose kind is `kind`. */
@inline
function runTask(ctrl: usize, kind: i32, task: i32, tid: i32): void {
  if (kind == KIND_FORWARD_PACK) packKBlock(ctrl, task);
  else if (kind == KIND_FORWARD) forwardBlock(ctrl, task, tid);
  else if (kind == KIND_BACKWARD_PREP) backwardPrep(ctrl, task);
  else if (kind == KIND_BACKWARD_KV) backwardKeyChunk(ctrl, task, tid);
  else if (kind == KIND_BACKWARD_DQ) backwardReduceDq(ctrl, task);
  else if (kind == KIND_DECODE) decodeChunk(ctrl, task, tid);
  else if (kind == KIND_DECODE_MERGE) decodeMerge(ctrl, task);
}

/** Runs tasks of the current job until none is left; returns how many this thread ran. */
export function runJob(ctrl: usize, tid: i32): i32 {
  const gen = atomic.load<u64>(ctrl + CLAIM) >> 48;
  const kind = param(ctrl, P_KIND);
  let count = 0;
  for (let task = claim(ctrl, gen); task >= 0; task = claim(ctrl, gen)) {
    runTask(ctrl, kind, task, tid);
    count++;
  }
  if (count > 0) {
    atomic.add<i32>(ctrl + DONE, count);
    atomic.notify(ctrl + DONE);
  }
  return count;
}

/**
 * Claims the last unclaimed task of the current job (the claim word's count
 * steps down, so the front's claims stop short of it); -1 when none is left.
 * The calling thread's side of a job it runs from the far end while the
 * workers take tasks from the front (KernelRuntime.run's fromEnd and feed).
 */
export function claimLast(ctrl: usize): i32 {
  while (true) {
    const word = atomic.load<u64>(ctrl + CLAIM);
    const next = <i32>(word & 0xffffff);
    const n = <i32>((word >> 24) & 0xffffff);
    if (next >= n) return -1;
    if (atomic.cmpxchg<u64>(ctrl + CLAIM, word, word - (<u64>1 << 24)) == word) return n - 1;
  }
  return -1;
}

/**
 * Runs task `task`, which the calling thread claimed from the far end of the
 * job itself (claimLast) once its inputs are in memory (a decode job's feed,
 * src/attention/wasm/decode.ts, copies them first). Counted done as runJob
 * counts its tasks; no notify, as only the calling thread waits on done.
 */
export function runClaimedTask(ctrl: usize, task: i32, tid: i32): void {
  runTask(ctrl, param(ctrl, P_KIND), task, tid);
  atomic.add<i32>(ctrl + DONE, 1);
}

/** The calling thread's share of a job run from the far end: tasks claimed from the end until none is left; returns how many. */
export function runJobFromEnd(ctrl: usize, tid: i32): i32 {
  let count = 0;
  for (let task = claimLast(ctrl); task >= 0; task = claimLast(ctrl)) {
    runClaimedTask(ctrl, task, tid);
    count++;
  }
  return count;
}
