import { ScaledotError } from '../../tensor/index.js';
import { ABI_VERSION, CTRL, FLOAT_SLOTS, MAX_TASKS, type KernelExports } from './abi.js';
import { canBlock, coreCount, isNode, nodeHost, sharedMemoryAvailable } from './platform.js';
import { WORKER_SOURCE } from './worker-source.js';

/**
 * The WebAssembly attention kernels, loaded once per thread of JavaScript:
 * one module instance here plus one per worker, all over one memory.
 *
 * Threads. The public API is synchronous, so the calling thread is one of
 * the workers: it publishes a job in the control block, wakes the workers
 * (memory.atomic.notify), claims tasks like them, and when none is left
 * waits for the last ones in flight — Atomics.wait in Node (allowed on its
 * main thread) and in web workers, a spin on Atomics.load on a browser's main
 * thread (it only waits for tasks already running). Workers start with the
 * first job large enough to share (PARALLEL_MIN_FLOPS), as many as its tasks
 * can use, up to one per other core; until they are up they claim nothing,
 * so the first such calls run on fewer threads rather than wait for them.
 * Workers are unref'd: they never keep a process alive.
 *
 * Memory grows to the largest problem seen and is reused (a WebAssembly
 * memory cannot shrink); each call copies its inputs in and its results out.
 */

export interface WasmAttentionInfo {
  /** Whether impl 'wasm' can run here. */
  available: boolean;
  /** Whether the engine runs the module's SIMD128 code (false where no module loaded). */
  simd: boolean;
  /** Whether the loaded module uses relaxed-SIMD fused multiply-add (Node >= 22, Chrome >= 114; Node 20 with --experimental-wasm-relaxed-simd). */
  relaxedSimd: boolean;
  /** Threads a large job runs on (the caller's plus workers'); 0 when unavailable. */
  threads: number;
  /** Bytes of WebAssembly memory held now (it grows to the largest problem seen and is reused). */
  memoryBytes: number;
  /** Tasks (blocks of work) that worker threads have run since loading: 0 means every call ran on the calling thread. */
  workerTasks: number;
  /** The path in one word: 'wasm-simd128' or 'wasm-relaxed-simd', with '-threads' when threads > 1; or 'unavailable'. */
  path: WasmPath;
  /** Why threads, relaxed SIMD or the whole path are missing, or null. */
  reason: string | null;
}

export type WasmPath =
  | 'wasm-relaxed-simd-threads' | 'wasm-relaxed-simd' | 'wasm-simd128-threads' | 'wasm-simd128' | 'unavailable';

/** Jobs below this many flops run on the calling thread alone: a wake-up costs more than it saves. */
const PARALLEL_MIN_FLOPS = 4e6;
/** The control block sits at address 0; the module has no static data below this (asconfig memoryBase). */
export const HEAP_BASE = 4096;
const PAGE = 65536;
const MAX_PAGES = 65536;

export class KernelRuntime {
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
  readonly blockRows: number;
  readonly blockCols: number;
  /** The pool's size: the calling thread plus the workers it may start (one per other core). */
  readonly poolThreads: number;
  /** Threads a job may use, at most poolThreads (setWasmAttentionThreads). */
  threadLimit: number;
  /** Tasks run by workers so far (see WasmAttentionInfo.workerTasks). */
  workerTasks = 0;
  private generation = 0;
  private workersFailed = false;
  private workersStarted = 0;
  private readonly startWorker: ((tid: number) => void) | null;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, poolThreads: number, startWorker: ((tid: number) => void) | null) {
    this.memory = memory;
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.exports = instance.exports as unknown as KernelExports;
    if (this.exports.abiVersion() !== ABI_VERSION) {
      throw new Error(`attention.wasm has ABI ${this.exports.abiVersion()} but the loader expects ${ABI_VERSION}; rebuild with npm run build:wasm`);
    }
    this.blockRows = this.exports.blockRows();
    this.blockCols = this.exports.blockCols();
    this.poolThreads = startWorker === null ? 1 : poolThreads;
    this.threadLimit = this.poolThreads;
    this.startWorker = startWorker;
  }

  /**
   * Starts workers until `count` exist. Workers are started by the first job
   * that can use them, and only as many as it has tasks for: a process that
   * only runs small attention never pays for threads, and a many-core
   * machine starts no more workers than the work needs.
   */
  private ensureWorkers(count: number): void {
    for (; this.workersStarted < Math.min(count, this.poolThreads - 1); this.workersStarted++) {
      this.startWorker!(this.workersStarted + 1);
    }
  }

  /** Grows memory so that [0, bytes) is addressable (callers keep within 2 GiB: see wasmBackend.supports). */
  reserve(bytes: number): void {
    const pages = Math.ceil(bytes / PAGE);
    if (pages > MAX_PAGES) throw new Error(`wasm attention: ${bytes} bytes exceed the 4 GiB of a WebAssembly memory`);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) this.memory.grow(pages - have);
  }

  /**
   * Runs one job to completion: `params` by slot (floats where FLOAT_SLOTS
   * says so), `flops` decides whether waking workers is worth it.
   */
  run(params: ReadonlyMap<number, number>, nTasks: number, flops: number): void {
    if (nTasks === 0) return;
    if (nTasks > MAX_TASKS) throw new ScaledotError('E_SHAPE', `wasm attention: ${nTasks} tasks exceed the kernel's limit of ${MAX_TASKS}; use impl 'tiled'`);
    const buffer = this.memory.buffer;
    const words = new Int32Array(buffer, 0, CTRL.bytes / 4);
    const floats = new Float32Array(buffer, 0, CTRL.bytes / 4);
    for (const [slot, value] of params) {
      const at = CTRL.params / 4 + slot;
      if (FLOAT_SLOTS.has(slot)) floats[at] = value;
      else words[at] = value;
    }
    this.generation = (this.generation + 1) & 0xffff;
    Atomics.store(words, CTRL.done / 4, 0);
    Atomics.store(words, CTRL.error / 4, 0);
    const claim = new BigInt64Array(buffer, CTRL.claim, 1);
    Atomics.store(claim, 0, (BigInt(this.generation) << 48n) | (BigInt(nTasks) << 24n));
    const parallel = this.threadLimit > 1 && nTasks > 1 && flops >= PARALLEL_MIN_FLOPS && !this.workersFailed;
    if (parallel) {
      this.ensureWorkers(Math.min(this.threadLimit, nTasks) - 1);
      Atomics.add(words, CTRL.wake / 4, 1);
      Atomics.notify(words, CTRL.wake / 4, this.threadLimit - 1);
    }
    const mine = this.exports.runJob(0, 0);
    // Even when no worker was woken for this job, one woken late for an earlier
    // job may have claimed a task of this one: wait until every task is done.
    if (this.workersStarted === 0) return;
    const block = canBlock();
    for (let done = Atomics.load(words, CTRL.done / 4); done < nTasks; done = Atomics.load(words, CTRL.done / 4)) {
      if (Atomics.load(words, CTRL.error / 4) !== 0) {
        this.workersFailed = true;
        throw new Error('wasm attention: a worker thread failed during the job; later calls run on the calling thread only');
      }
      if (block) Atomics.wait(words, CTRL.done / 4, done, 100);
    }
    this.workerTasks += nTasks - mine;
  }
}

interface LoadState {
  runtime: KernelRuntime | null;
  relaxed: boolean;
  reason: string | null;
}

let state: LoadState | undefined;

// One entry per module built by assembly/build.mjs, best first. Each URL is a
// literal `new URL(..., import.meta.url)` so that bundlers (Vite) emit the file.
const MODULES = {
  threads: [
    { relaxed: true, url: () => new URL('../../../wasm/attention-relaxed.wasm', import.meta.url) },
    { relaxed: false, url: () => new URL('../../../wasm/attention.wasm', import.meta.url) },
  ],
  single: [
    { relaxed: true, url: () => new URL('../../../wasm/attention-single-relaxed.wasm', import.meta.url) },
    { relaxed: false, url: () => new URL('../../../wasm/attention-single.wasm', import.meta.url) },
  ],
} as const;

interface Compiled {
  module: WebAssembly.Module;
  relaxed: boolean;
  /** Why the relaxed-SIMD module was passed over, if it was. */
  notRelaxed: string | null;
}

/** Reads a module's bytes (null if missing) and compiles them; sync in Node, precomputed in a browser. */
interface ModuleSource {
  read(url: URL): BufferSource | null;
  compile(url: URL, bytes: BufferSource): WebAssembly.Module;
}

/** The best module of a kind that this engine validates, or why there is none. */
function pickModule(kind: 'threads' | 'single', source: ModuleSource): Compiled | string {
  let reason = '';
  for (const candidate of MODULES[kind]) {
    const url = candidate.url();
    const bytes = source.read(url);
    if (bytes === null) {
      reason = `${url.pathname} is missing: run npm run build:wasm`;
      continue;
    }
    if (!WebAssembly.validate(bytes)) {
      reason = candidate.relaxed
        ? 'relaxed SIMD unsupported by this engine (Node 20 needs --experimental-wasm-relaxed-simd): using mul + add'
        : 'this engine does not validate WebAssembly SIMD128 (or threads)';
      continue;
    }
    return { module: source.compile(url, bytes), relaxed: candidate.relaxed, notRelaxed: candidate.relaxed ? null : reason };
  }
  return reason;
}

function newMemory(shared: boolean): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared } as WebAssembly.MemoryDescriptor);
}

type WorkerStarter = (module: WebAssembly.Module, memory: WebAssembly.Memory) => ((tid: number) => void) | null;

/**
 * Loads the threaded module (with workers) where memory can be shared and
 * there is more than one core, else the single-threaded one; a null runtime
 * with the reason where neither validates or the files are missing.
 */
function load(source: ModuleSource, startWorkers: WorkerStarter): LoadState {
  const cores = coreCount();
  let threadReason: string;
  if (!sharedMemoryAvailable()) threadReason = 'no SharedArrayBuffer (a browser page must be cross-origin isolated)';
  else if (cores < 2) threadReason = 'one core';
  else {
    const picked = pickModule('threads', source);
    if (typeof picked !== 'string') {
      const memory = newMemory(true);
      const start = startWorkers(picked.module, memory);
      const runtime = new KernelRuntime(picked.module, memory, cores, start);
      return { runtime, relaxed: picked.relaxed, reason: start === null ? 'one thread: workers cannot start here' : picked.notRelaxed };
    }
    threadReason = picked;
  }
  const picked = pickModule('single', source);
  if (typeof picked === 'string') return { runtime: null, relaxed: false, reason: picked };
  const runtime = new KernelRuntime(picked.module, newMemory(false), 1, null);
  return { runtime, relaxed: picked.relaxed, reason: `one thread: ${threadReason}` };
}

function startNodeWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory): (tid: number) => void {
  const { Worker } = nodeHost!.workerThreads;
  return (tid) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module, memory, ctrl: 0, tid },
      // The worker runs a few lines of JavaScript, then stays in WebAssembly: a small heap is plenty.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 },
    });
    worker.unref();
    worker.on('error', () => { /* raised in the error word; the caller reports it */ });
  };
}

function startWebWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory): ((tid: number) => void) | null {
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined' || typeof URL.createObjectURL !== 'function') return null;
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  return (tid) => {
    const worker = new Worker(url);
    worker.postMessage({ module, memory, ctrl: 0, tid });
  };
}

const nodeSource: ModuleSource = {
  read(url) {
    try {
      return new Uint8Array(nodeHost!.fs.readFileSync(url));
    } catch {
      return null;
    }
  },
  compile: (_url, bytes) => new WebAssembly.Module(bytes),
};

/** The loaded kernels, or null when they cannot run here (see wasmAttentionInfo().reason). */
export function kernelRuntime(): KernelRuntime | null {
  if (state === undefined) {
    if (nodeHost !== null) {
      try {
        state = load(nodeSource, startNodeWorkers);
      } catch (err) {
        state = { runtime: null, relaxed: false, reason: `loading failed: ${(err as Error).message}` };
      }
    } else if (isNode) {
      state = { runtime: null, relaxed: false, reason: 'this Node lacks process.getBuiltinModule (Node >= 20.16 has it)' };
    } else {
      // A browser must compile asynchronously first: initWasmAttention().
      return null;
    }
  }
  return state.runtime;
}

/** Which WebAssembly path runs here, and if none, why. Loads the kernels in Node if needed. */
export function wasmAttentionInfo(): WasmAttentionInfo {
  const runtime = kernelRuntime();
  if (state === undefined || runtime === null) {
    const reason = state?.reason ?? 'not initialised: call initWasmAttention() first (browsers compile WebAssembly asynchronously)';
    return { available: false, simd: false, relaxedSimd: false, threads: 0, memoryBytes: 0, workerTasks: 0, path: 'unavailable', reason };
  }
  const threads = runtime.threadLimit;
  const base = state.relaxed ? 'wasm-relaxed-simd' : 'wasm-simd128';
  return {
    available: true, simd: true, relaxedSimd: state.relaxed, threads, memoryBytes: runtime.memory.buffer.byteLength,
    workerTasks: runtime.workerTasks,
    path: threads > 1 ? `${base}-threads` : base, reason: state.reason,
  };
}

/**
 * Caps the threads impl 'wasm' uses (1 = the calling thread only), for
 * benchmarks and for sharing cores with other work. Results do not depend on it.
 */
export function setWasmAttentionThreads(threads: number): WasmAttentionInfo {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ScaledotError('E_ARG', `setWasmAttentionThreads: threads is ${String(threads)}; expected an integer >= 1`);
  }
  const runtime = kernelRuntime();
  if (runtime !== null) runtime.threadLimit = Math.min(threads, runtime.poolThreads);
  return wasmAttentionInfo();
}

/**
 * Loads the kernels asynchronously: needed once in a browser (where the main
 * thread may not compile modules synchronously), harmless in Node. `baseUrl`
 * overrides where the .wasm files are fetched from (a folder URL ending in
 * '/'); by default they sit next to this package. Web Workers are used when
 * the page is cross-origin isolated (SharedArrayBuffer), else one thread.
 */
export async function initWasmAttention(options: { baseUrl?: string | URL } = {}): Promise<WasmAttentionInfo> {
  if (state !== undefined || nodeHost !== null) return wasmAttentionInfo();
  const bytes = new Map<string, ArrayBuffer | null>();
  const modules = new Map<string, WebAssembly.Module>();
  const locate = (url: URL): URL => (options.baseUrl === undefined ? url : new URL(url.pathname.split('/').pop()!, options.baseUrl));
  for (const candidate of [...MODULES.threads, ...MODULES.single]) {
    const url = locate(candidate.url());
    try {
      const response = await fetch(url);
      const body = response.ok ? await response.arrayBuffer() : null;
      bytes.set(candidate.url().href, body);
      if (body !== null && WebAssembly.validate(body)) modules.set(candidate.url().href, await WebAssembly.compile(body));
    } catch {
      bytes.set(candidate.url().href, null);
    }
  }
  const prefetched: ModuleSource = {
    read: (url) => bytes.get(url.href) ?? null,
    compile: (url) => modules.get(url.href)!,
  };
  try {
    state = load(prefetched, startWebWorkers);
  } catch (err) {
    state = { runtime: null, relaxed: false, reason: `loading failed: ${(err as Error).message}` };
  }
  return wasmAttentionInfo();
}
