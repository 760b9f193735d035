// What the host offers: Node's built-in modules (read the .wasm
// synchronously, start worker_threads, count cores, set an engine flag) or
// nothing in a browser.
// process.getBuiltinModule (Node >= 20.16) reaches them synchronously without
// a static import that a browser bundle would have to stub out.

type NodeFs = typeof import('node:fs');
type NodeWorkerThreads = typeof import('node:worker_threads');
type NodeOs = typeof import('node:os');
type NodeV8 = typeof import('node:v8');

export interface NodeHost {
  fs: NodeFs;
  workerThreads: NodeWorkerThreads;
  os: NodeOs;
  v8: NodeV8;
}

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}

function findNodeHost(): NodeHost | null {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (proc?.versions?.node === undefined || typeof proc.getBuiltinModule !== 'function') return null;
  return {
    fs: proc.getBuiltinModule('node:fs') as NodeFs,
    workerThreads: proc.getBuiltinModule('node:worker_threads') as NodeWorkerThreads,
    os: proc.getBuiltinModule('node:os') as NodeOs,
    v8: proc.getBuiltinModule('node:v8') as NodeV8,
  };
}

/** Node's modules, or null outside Node (and on Node before 20.16, which lacks getBuiltinModule). */
export const nodeHost: NodeHost | null = findNodeHost();

/** Whether this is Node at all, with or without getBuiltinModule. */
export const isNode: boolean = (globalThis as { process?: NodeProcess }).process?.versions?.node !== undefined;

/** Whether this thread may block in Atomics.wait (Node's main thread may; a browser's main thread may not). */
export function canBlock(): boolean {
  if (nodeHost !== null) return true;
  return typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
}

/** Whether memory can be shared between threads here (browsers need cross-origin isolation). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return nodeHost !== null || isolated === true;
}

/** Logical cores, as the host reports them. */
export function coreCount(): number {
  if (nodeHost !== null) return nodeHost.os.availableParallelism();
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n >= 1 ? n : 1;
}
