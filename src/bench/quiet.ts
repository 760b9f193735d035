/**
 * The bench's quiet wait (Node only: it reads the process's CPU time). See
 * case.ts for where it sits in the case loop and docs/performance.md for why.
 */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A slice of the quiet wait, and the CPU per slice under which the process counts as quiet. */
const QUIET_SLICE_MS = 5;
const QUIET_CPU_MS = 1;
/** The longest wait for quiet: a thread that spins longer than this is left spinning. */
const QUIET_MAX_MS = 400;

/**
 * Waits until this process burns (almost) no CPU, and returns the CPU time
 * (ms, all threads) it burnt meanwhile. A peer's thread pool may keep its
 * threads spinning after a call has returned (onnxruntime-web's did: about
 * 30 ms of CPU over 20-40 ms after each call of 8x256x64 on 2 threads), and
 * V8 sweeps on background threads after a full GC: either would share the
 * cores with the next timed run, whoever's it is. The figure before the GC is
 * the work a call leaves behind, reported as `cpu ms after`.
 */
export async function quiet(): Promise<number> {
  const start = performance.now();
  let total = 0;
  for (;;) {
    const before = process.cpuUsage();
    await sleep(QUIET_SLICE_MS);
    const used = process.cpuUsage(before);
    const ms = (used.user + used.system) / 1000;
    total += ms;
    if (ms < QUIET_CPU_MS || performance.now() - start > QUIET_MAX_MS) return total;
  }
}

