// The control block shared with the WebAssembly kernels: a mirror of
// assembly/abi.ts (the loader refuses a module whose abiVersion() differs).

export const ABI_VERSION = 3;

/** Byte offsets in the control block. */
export const CTRL = {
  claim: 0, // i64: gen (16 bits) | nTasks (24) | next task (24)
  wake: 8, // i32, bumped per job; idle workers wait on it
  done: 12, // i32, tasks finished in the current job
  error: 16, // i32, set by a worker whose job threw
  params: 64,
  bytes: 512,
} as const;

export const KIND = {
  forwardPack: 1,
  forward: 2,
  backwardPrep: 3,
  backwardKv: 4,
  backwardDq: 5,
} as const;

/** Parameter slots (4 bytes each from CTRL.params), the names of assembly/abi.ts without P_. */
export const SLOT = {
  kind: 0, nTasks: 1, bh: 2, hq: 3, hkv: 4, l: 5, s: 6, lp: 7, sp: 8, ep: 9, evp: 10, nqb: 11, nkb: 12,
  q: 13, k: 14, v: 15, kt: 16, o: 17, mrow: 18, lrow: 19,
  maskKind: 20, mask: 21, maskHead: 22, maskRowStride: 23, maskColStride: 24,
  causal: 25, drop: 26, dropThreshold: 27, seed: 28, qScale: 29, dropScale: 30, scale: 31,
  scratch: 32, scratchStride: 33, dqParts: 34,
  dOut: 35, lse2: 38, d: 39, dqPartials: 40, dqPartialStride: 41, dk: 42, dv: 43, dq: 44, vT: 45,
  softcap: 46, alibi: 47, windowLeft: 48, windowRight: 49, keyLengths: 50, sinks: 51,
} as const;

export const FLOAT_SLOTS: ReadonlySet<number> = new Set([SLOT.qScale, SLOT.dropScale, SLOT.scale, SLOT.softcap]);

/** The most tasks one job can hold: the claim word keeps counts in 24 bits. */
export const MAX_TASKS = (1 << 24) - 1;

/** The exports every instance of the module has. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  abiVersion(): number;
  blockRows(): number;
  blockCols(): number;
  runJob(ctrl: number, tid: number): number;
  workerLoop(ctrl: number, tid: number): void;
}
