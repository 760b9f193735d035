import { ScaledotError } from '../../tensor/index.js';
import { ABI_VERSION, CTRL, HEAP_BASE, KIND, MAX_TASKS, PARAMS, SLOT, type JobParams, type KernelExports, type KernelKind, type ParamName } from './abi.js';
import { canBlock } from './platform.js';

/**
 * Job dispatch for the WebAssembly attention kernels: one module instance on
 * the calling thread, over the memory its workers share.
 *
 * The public API is synchronous, so the calling thread is one of the
 * workers: it publishes a job in the control block, wakes the workers
 * (memory.atomic.notify), claims tasks like them (a decode job's from the
 * far end: see run), and when none is left
 * waits for the last ones in flight — Atomics.wait in Node (allowed on its
 * main thread) and in web workers, a spin on Atomics.load on a browser's main
 * thread (it only waits for tasks already running). Workers start with the
 * first job large enough to share (PARALLEL_MIN_FLOPS), as many as its tasks
 * can use, up to one per other core; until they are up they claim nothing,
 * so the first such calls run on fewer threads rather than wait for them.
 *
 * Memory grows to the largest problem seen and is reused (a WebAssembly
 * memory cannot shrink); each call copies its inputs in and its results out.
 */

/** Jobs below this many flops run on the calling thread alone: a wake-up costs more than it saves. */
const PARALLEL_MIN_FLOPS = 4e6;
/** How long the caller polls the done count before it blocks in Atomics.wait (run). */
const DONE_POLL_MS = 0.2;
const PAGE = 65536;
/** A WebAssembly memory holds at most 4 GiB. */
export const MAX_PAGES = 65536;

/** Whether each slot holds a float (written through a Float32Array view) rather than 32 integer bits. */
const FLOAT_SLOT: readonly boolean[] = Object.values(PARAMS).map((p) => p.type === 'f32');

/**
 * What a job's `feed` (decode: the caller copying K and V in) drives. Tasks
 * [0, ready) have their inputs in memory; the other threads claim tasks from
 * the front and wait for the ready count to pass theirs. The caller may also
 * claim the last unclaimed task itself, copy its inputs and run it at once
 * (while they are in its cache): a thread that falls behind the copy then
 * has fewer tasks left to it, and the caller none to run cold after its copy.
 */
export interface FeedControl {
  /**
   * Sets the ready count; wakes the threads asleep on it where `wake` (the
   * feed may let them sleep through a few chunks, so that each wake-up finds
   * several chunks to run). The count's last publication, by run, wakes them.
   */
  publish(ready: number, wake: boolean): void;
  /** Tasks claimed from the front so far (by any thread). */
  claimedFront(): number;
  /** The last unclaimed task, now the caller's (-1: none left); run it with runClaimed once its inputs are in. */
  claimLast(): number;
  /** Runs a task claimLast gave (the module's runClaimedTask). */
  runClaimed(task: number): void;
}

/** How run hands out a job's tasks besides claiming them from the front (see run). */
export interface RunOptions {
  /** Copies the tasks' inputs in while the other threads run the tasks fed before (decode with plain K and V). */
  feed?: (control: FeedControl) => void;
  /** JavaScript work for the calling thread once the workers are woken, before it claims tasks itself. */
  meanwhile?: () => void;
  /** The calling thread claims its tasks from the far end of the job, the workers from the front. */
  fromEnd?: boolean;
}

export class KernelRuntime {
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
  readonly blockRows: number;
  readonly blockCols: number;
  /** The pool's size: the calling thread plus the workers it may start (one per other core). */
  readonly poolThreads: number;
  /** Threads a job may use, at most poolThreads (setWasmAttentionThreads). */
  threadLimit: number;
  /**
   * Where each call's scratch layout (layout.ts's Arena) starts: above the
   * regions that outlive a call (KV caches' storage, resident.ts). Between
   * calls nothing else lives above it.
   */
  heapStart: number = HEAP_BASE;
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

  /** Whether a job of `nTasks` tasks and `flops` flops is shared with the workers (see run). */
  private parallel(nTasks: number, flops: number): boolean {
    return this.threadLimit > 1 && nTasks > 1 && flops >= PARALLEL_MIN_FLOPS && !this.workersFailed;
  }

  /**
   * Wakes the started workers for a job about to be run with these
   * `nTasks` and `flops`, before the caller copies its inputs in: a worker
   * woken this way finds no task, and polls the wake word for LINGER_MS
   * (worker-source.ts), so that when run publishes the job it is already
   * awake instead of starting a futex wake-up then. Nothing happens when
   * that job would run on the calling thread alone, or before any worker
   * started.
   */
  wakeAhead(nTasks: number, flops: number): void {
    if (this.workersStarted !== 0 && this.parallel(nTasks, flops)) this.wake(new Int32Array(this.memory.buffer, 0, CTRL.bytes / 4));
  }

  /** Bumps the wake word, which the workers poll or wait on between jobs, and wakes those asleep. */
  private wake(words: Int32Array): void {
    Atomics.add(words, CTRL.wake / 4, 1);
    Atomics.notify(words, CTRL.wake / 4, this.threadLimit - 1);
  }

  /**
   * Runs one job to completion: `kind` over `nTasks` tasks, with the
   * parameters its kernel reads; `flops` decides whether waking workers is
   * worth it. `meanwhile` is JavaScript work the calling thread does once the
   * workers are woken, before it claims tasks itself (allocating the call's
   * results, say): the workers take the tasks it would have run meanwhile.
   * With `fromEnd` (or a `feed`, which claims from the far end as it goes) a
   * shared job's tasks are claimed from both ends, so that each thread runs
   * one stretch of adjacent tasks.
   */
  run<K extends KernelKind>(kind: K, params: JobParams[K], nTasks: number, flops: number, options: RunOptions = {}): void {
    const { feed, meanwhile, fromEnd = false } = options;
    if (nTasks === 0) {
      meanwhile?.();
      return;
    }
    if (nTasks > MAX_TASKS) throw new ScaledotError('E_SHAPE', `wasm attention: ${nTasks} tasks exceed the kernel's limit of ${MAX_TASKS}; use impl 'tiled'`);
    const buffer = this.memory.buffer;
    const words = new Int32Array(buffer, 0, CTRL.bytes / 4);
    const floats = new Float32Array(buffer, 0, CTRL.bytes / 4);
    const base = CTRL.params / 4;
    words[base + SLOT.kind] = KIND[kind];
    // for-in rather than Object.entries: no array per parameter (this runs on every call, decoding's included).
    for (const name in params) {
      const value = (params as Record<string, number>)[name];
      const slot = SLOT[name as ParamName];
      if ((slot as number | undefined) === undefined) throw new Error(`wasm attention: ${name} is not a kernel parameter (see abi.ts)`);
      if (FLOAT_SLOT[slot]) floats[base + slot] = value;
      else words[base + slot] = value;
    }
    // Before the claim word opens the job: a worker still looping from the last job may claim a task at once.
    Atomics.store(words, CTRL.ready / 4, feed === undefined ? nTasks : 0);
    this.generation = (this.generation + 1) & 0xffff;
    Atomics.store(words, CTRL.done / 4, 0);
    Atomics.store(words, CTRL.error / 4, 0);
    const claim = new BigInt64Array(buffer, CTRL.claim, 1);
    Atomics.store(claim, 0, (BigInt(this.generation) << 48n) | (BigInt(nTasks) << 24n));
    const parallel = this.parallel(nTasks, flops);
    // `feed` (decode) copies a task's inputs in while the workers already run the tasks fed before it.
    // A notify costs a system call even with no one asleep: only threads counted in readyWaiters need one (assembly/decode.ts waitForRows).
    const publish = (ready: number, wake = true) => {
      Atomics.store(words, CTRL.ready / 4, ready);
      if (wake && Atomics.load(words, CTRL.readyWaiters / 4) !== 0) Atomics.notify(words, CTRL.ready / 4);
    };
    let claimedFromEnd = 0;
    const control: FeedControl | null = feed === undefined ? null : {
      publish,
      claimedFront: () => Number(Atomics.load(claim, 0) & 0xffffffn),
      claimLast: () => this.exports.claimLast(0),
      runClaimed: (task) => {
        this.exports.runClaimedTask(0, task, 0);
        claimedFromEnd++;
      },
    };
    if (parallel) {
      this.ensureWorkers(Math.min(this.threadLimit, nTasks) - 1);
      this.wake(words);
    }
    feed?.(control!);
    publish(nTasks);
    // If `meanwhile` throws (out of memory), the job is finished first and the
    // error thrown after: a job left running would overlap the next one's.
    let failure: { error: unknown } | null = null;
    try {
      meanwhile?.();
    } catch (error) {
      failure = { error };
    }
    if (fromEnd && parallel) claimedFromEnd += this.exports.runJobFromEnd(0, 0);
    const mine = this.exports.runJob(0, 0) + claimedFromEnd;
    // Even when no worker was woken for this job, one woken late for an earlier
    // job may have claimed a task of this one: wait until every task is done.
    if (this.workersStarted !== 0) {
      // The last tasks in flight usually end within a task's time: polled for up to
      // DONE_POLL_MS before blocking, the caller is not left to a futex wake-up after them.
      const block = canBlock();
      const pollUntil = performance.now() + DONE_POLL_MS;
      for (let done = Atomics.load(words, CTRL.done / 4); done < nTasks; done = Atomics.load(words, CTRL.done / 4)) {
        if (Atomics.load(words, CTRL.error / 4) !== 0) {
          this.workersFailed = true;
          throw new Error('wasm attention: a worker thread failed during the job; later calls run on the calling thread only');
        }
        if (block && performance.now() > pollUntil) Atomics.wait(words, CTRL.done / 4, done, 100);
      }
      this.workerTasks += nTasks - mine;
    }
    if (failure !== null) throw failure.error;
  }
}

