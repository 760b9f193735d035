// The contract between this loader and the WebAssembly kernels (assembly/):
// the one source of it. assembly/build.mjs writes assembly/abi-generated.ts
// from this file before it compiles, and passes HEAP_BASE as the module's
// memoryBase, so the two sides cannot drift apart; the loader also refuses a
// module whose abiVersion() differs (one built before a change here).
//
// Adding a kernel parameter: add it to PARAMS (its slot is its position) and
// bump ABI_VERSION; the kernels read it as param(ctrl, P_NAME) (the name in
// UPPER_SNAKE case), and the type checker then asks the backend for its value.

export const ABI_VERSION = 11;

/** The control block sits at address 0; the module's static data starts here, and so does the heap the loader lays out. */
export const HEAP_BASE = 4096;

/** Byte offsets in the control block. */
export const CTRL = {
  claim: 0, // i64: gen (16 bits) | nTasks (24) | next task (24)
  wake: 8, // i32, bumped per job; idle workers wait on it
  done: 12, // i32, tasks finished in the current job; the caller waits on it
  error: 16, // i32, set by a worker whose job trapped
  ready: 20, // i32, decode: tasks whose keys and values the caller has copied in (a task waits for its own)
  readyWaiters: 24, // i32, decode: threads asleep (or about to sleep) on ready; the caller notifies only when there are any
  params: 64, // 4-byte parameter slots, in the order of PARAMS
  bytes: 512,
} as const;

/** What a job runs: the value of the `kind` parameter. */
export const KIND = {
  forwardPack: 1,
  forward: 2,
  backwardPrep: 3,
  backwardKv: 4,
  backwardDq: 5,
  decode: 6,
  decodeMerge: 7,
} as const;

export type KernelKind = keyof typeof KIND;

/** How a kernel reads a slot's 4 bytes: as an int, the bits of an unsigned word, a float, or a byte offset in linear memory. */
export type ParamType = 'i32' | 'u32' | 'f32' | 'ptr';

/** Which pass's kernels read a parameter ('job': the dispatcher sets it for every job). */
export type ParamPass = 'forward' | 'backward' | 'decode' | 'both' | 'job';

const slot = <T extends ParamType, P extends ParamPass>(type: T, pass: P): { readonly type: T; readonly pass: P } => ({ type, pass });

/**
 * The parameter slots, in slot order: each with its type and the pass whose
 * kernels read it (test/attention-wasm-abi.test.ts checks that against
 * assembly/). Offsets and sizes are bytes, row counts elements.
 */
export const PARAMS = {
  kind: slot('i32', 'job'), // a KIND value
  // Shapes: bh = batch · query heads; the padded sizes and block counts of layout.ts.
  bh: slot('i32', 'backward'),
  hq: slot('i32', 'both'), hkv: slot('i32', 'both'), l: slot('i32', 'both'), s: slot('i32', 'both'),
  lp: slot('i32', 'both'), sp: slot('i32', 'both'), ep: slot('i32', 'both'), evp: slot('i32', 'both'),
  nqb: slot('i32', 'both'), nkb: slot('i32', 'both'),
  // Inputs, Kᵀ per key block; the forward's output and running base-2 max and sum per row.
  q: slot('ptr', 'both'), k: slot('ptr', 'both'), v: slot('ptr', 'forward'), kt: slot('ptr', 'both'),
  o: slot('ptr', 'forward'), mrow: slot('ptr', 'forward'), lrow: slot('ptr', 'forward'),
  maskKind: slot('i32', 'both'), // 0 none, 1 bool (u8), 2 additive (f32)
  mask: slot('ptr', 'both'),
  maskHead: slot('ptr', 'both'), // i32 element offset per (batch, query head)
  maskRowStride: slot('i32', 'both'), maskColStride: slot('i32', 'both'),
  causal: slot('i32', 'both'),
  drop: slot('i32', 'both'), // 0 none, 1 threshold, 2 drop everything
  dropThreshold: slot('u32', 'both'), // keep iff hash >= threshold
  seed: slot('u32', 'both'),
  qScale: slot('f32', 'both'), // scale · log2(e)
  dropScale: slot('f32', 'both'), // 1 / (1 − p)
  scale: slot('f32', 'backward'),
  scratch: slot('ptr', 'both'), scratchStride: slot('i32', 'both'), // per-thread scratch, scratchStride bytes apart
  // Backward only.
  dqParts: slot('i32', 'backward'), // dQ partial sums (one per key-range chunk), fixed so results do not depend on threads
  dOut: slot('ptr', 'backward'),
  lse2: slot('ptr', 'backward'), // f32 [bh, lp]: lse · log2(e), +inf where the row is fully masked or padding
  d: slot('ptr', 'backward'), // f32 [bh, lp]: rowsum(dO ∘ O)
  dqPartials: slot('ptr', 'backward'), // dQ partial sums [bh, lp, ep], dqPartialStride bytes apart
  dqPartialStride: slot('i32', 'backward'),
  dk: slot('ptr', 'backward'), dv: slot('ptr', 'backward'), dq: slot('ptr', 'backward'),
  vT: slot('ptr', 'backward'), // Vᵀ per key block [bhkv, nkb, evp, BC]
  // The model options (src/attention/score-options.ts), each off at 0 (a null pointer) or -1.
  softcap: slot('f32', 'both'), // the cap c on natural-log scores; 0 = off
  alibi: slot('ptr', 'both'), // f32 [hq]: slope · log2(e) per query head
  windowLeft: slot('i32', 'both'), windowRight: slot('i32', 'both'), // the window's sizes, -1 = unbounded
  keyLengths: slot('ptr', 'both'), // i32 [batch]: keys per batch element; null = all s
  sinks: slot('ptr', 'forward'), // f32 [hq]: sink · log2(e) per query head (-inf = none)
  // Decode only (assembly/decode.ts): k and v in their natural layout [bhkv, s, e] and [bhkv, s, ev]
  // (where a KV cache keeps them), keys split into chunks of chunkKeys, one task each, whose
  // partial (acc [rows][evp], m [rows], l [rows]) lands partStride bytes apart in parts.
  e: slot('i32', 'decode'), ev: slot('i32', 'decode'),
  chunkKeys: slot('i32', 'decode'), chunks: slot('i32', 'decode'),
  parts: slot('ptr', 'decode'), partStride: slot('i32', 'decode'),
  // 1 where k (v) is a KV cache's bfloat16 storage (u16 bit patterns, assembly/kv-elements.ts), 0 for float32.
  kBf16: slot('i32', 'decode'), vBf16: slot('i32', 'decode'),
} as const;

export type ParamName = keyof typeof PARAMS;

/** The parameters the kernels of `P` read (with those both passes read), each a number. */
type ParamsOf<P extends ParamPass> = {
  readonly [K in ParamName as (typeof PARAMS)[K]['pass'] extends P | 'both' ? K : never]: number;
};

/** What both passes' kernels read. */
export type SharedParams = ParamsOf<'both'>;
/** What the forward's kernels (forwardPack, forward) read. */
export type ForwardParams = ParamsOf<'forward'>;
/** What the backward's kernels (backwardPrep, backwardKv, backwardDq) read. */
export type BackwardParams = ParamsOf<'backward'>;

/** What the decode kernels (decode, decodeMerge) read: the decode slots, and the forward's output and sink slots. */
export type DecodeParams = ParamsOf<'decode'> & Pick<ForwardParams, 'v' | 'o' | 'mrow' | 'lrow' | 'sinks'>;

/** The parameter object each kind of job takes. */
export interface JobParams {
  forwardPack: ForwardParams;
  forward: ForwardParams;
  backwardPrep: BackwardParams;
  backwardKv: BackwardParams;
  backwardDq: BackwardParams;
  decode: DecodeParams;
  decodeMerge: DecodeParams;
}

/** Each parameter's slot: its position in PARAMS. */
export const SLOT = Object.fromEntries(Object.keys(PARAMS).map((name, i) => [name, i])) as Record<ParamName, number>;

/** The parameter slots fit in the control block. */
export const PARAM_COUNT = Object.keys(PARAMS).length;
if (CTRL.params + 4 * PARAM_COUNT > CTRL.bytes) throw new Error('wasm abi: the parameter slots overflow the control block');

/** The most tasks one job can hold: the claim word keeps counts in 24 bits. */
export const MAX_TASKS = (1 << 24) - 1;

/** The exports every instance of the module has. */
export interface KernelExports {
  memory: WebAssembly.Memory;
  abiVersion(): number;
  blockRows(): number;
  blockCols(): number;
  runJob(ctrl: number, tid: number): number;
  claimLast(ctrl: number): number;
  runClaimedTask(ctrl: number, task: number, tid: number): void;
  runJobFromEnd(ctrl: number, tid: number): number;
  gemmF64Add(a: number, b: number, out: number, m: number, k: number, n: number): void;
}
