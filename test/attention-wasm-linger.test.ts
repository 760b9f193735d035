import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randn, scaledDotProductAttentionBackward, scaledDotProductAttentionWithLse, wasm, type Tensor } from '../src/index.js';
import { kernelRuntime } from '../src/attention/wasm/loader.js';
import { CTRL } from '../src/attention/wasm/abi.js';
import { LINGER_MS } from '../src/attention/wasm/worker-source.js';

// The hand-off to the workers on short calls (issue 22): a call wakes the
// workers before it copies its inputs in (KernelRuntime.wakeAhead), and a
// worker polls the wake word for LINGER_MS after each job before it blocks
// (worker-source.ts). The poll, once written as a loop in the module, left
// the workers taking no task after a few jobs on Node 20, or hung a call:
// the second test runs many calls through every state a worker can be in
// when a job comes (busy, polling, blocked) and checks that the workers keep
// taking tasks and that every result is the one the calling thread alone gives.

const wakeWord = () => new Int32Array(kernelRuntime()!.memory.buffer, 0, CTRL.bytes / 4)[CTRL.wake / 4];

describe('impl wasm: the workers are woken ahead and linger', () => {
  it('a call wakes the workers for its longest job before the inputs are copied in, with that job\'s tasks and flops', () => {
    const rt = kernelRuntime()!;
    const [q, k, v, dOut] = [1, 2, 3, 4].map((seed) => randn([2, 3, 200, 32], { seed }));
    const saved = scaledDotProductAttentionWithLse(q, k, v, { impl: 'wasm' });
    const step = randn([2, 3, 1, 32], { seed: 5 }); // a decoding step (assembly/decode.ts) over the same keys
    const events: string[] = [];
    const { wakeAhead, run, reserve } = rt;
    // Own properties shadow the prototype's methods; deleting them restores those.
    rt.wakeAhead = (nTasks, flops) => {
      events.push(`wake ${nTasks} ${flops}`);
      wakeAhead.call(rt, nTasks, flops);
    };
    rt.reserve = (bytes) => {
      events.push('reserve');
      reserve.call(rt, bytes);
    };
    rt.run = ((kind, params, nTasks, flops, options) => {
      events.push(`${kind} ${nTasks} ${flops}`);
      run.call(rt, kind, params, nTasks, flops, options);
    }) as typeof rt.run;
    try {
      scaledDotProductAttentionWithLse(q, k, v, { impl: 'wasm' });
      scaledDotProductAttentionBackward(q, k, v, dOut, { impl: 'wasm', saved });
      scaledDotProductAttentionWithLse(step, k, v, { impl: 'wasm' });
    } finally {
      for (const name of ['wakeAhead', 'run', 'reserve'] as const) delete (rt as unknown as Record<string, unknown>)[name];
    }
    const fwdEnd = events.findIndex((e) => e.startsWith('forward '));
    assert.equal(events[0].split(' ')[0], 'wake');
    assert.equal(events[1], 'reserve');
    assert.equal(events[0].slice('wake '.length), events[fwdEnd].slice('forward '.length));
    // Backward: the same for its key-chunk job.
    const bwdStart = fwdEnd + 1;
    const kv = events.findIndex((e) => e.startsWith('backwardKv '));
    assert.equal(events[bwdStart].split(' ')[0], 'wake');
    assert.equal(events[bwdStart + 1], 'reserve');
    assert.equal(events[bwdStart].slice('wake '.length), events[kv].slice('backwardKv '.length));
    // Decoding: the same for its decode job, which copies K and V in as it goes.
    const decStart = events.findIndex((e, i) => i > kv && e.startsWith('wake '));
    const dec = events.findIndex((e) => e.startsWith('decode '));
    assert.ok(decStart > kv && dec > decStart, events.join(', '));
    assert.equal(events[decStart + 1], 'reserve');
    assert.equal(events[decStart].slice('wake '.length), events[dec].slice('decode '.length));
  });

  it('wakeAhead bumps the wake word once for a job the workers share, and not for one the caller runs alone', () => {
    const rt = kernelRuntime()!;
    // A job large enough to share starts the workers (where there is more than one thread).
    scaledDotProductAttentionWithLse(...[1, 2, 3].map((seed) => randn([1, 4, 256, 32], { seed })) as [Tensor, Tensor, Tensor], { impl: 'wasm' });
    const before = wakeWord();
    rt.wakeAhead(32, 1e3); // too few flops to share: the caller runs it alone
    rt.wakeAhead(1, 1e9); // a single task
    assert.equal(wakeWord(), before);
    if (wasm.info().threads < 2) return; // no worker here: nothing to wake
    rt.wakeAhead(32, 1e9);
    assert.equal(wakeWord(), before + 1);
  });

  it('through hundreds of calls with pauses shorter and longer than LINGER_MS, the workers keep taking tasks and the results are the calling thread\'s', {
    skip: wasm.info().threads < 2 ? 'one thread here: no worker to hand off to' : false,
  }, () => {
    const make = (shape: number[], seed: number) => randn(shape, { seed });
    const cases = [
      // Shared with the workers (forward and backward), run by the caller alone, and a decoding step (its feed job).
      { q: make([1, 4, 256, 32], 1), k: make([1, 4, 256, 32], 2), v: make([1, 4, 256, 32], 3), dOut: make([1, 4, 256, 32], 4) },
      { q: make([1, 1, 64, 16], 5), k: make([1, 1, 64, 16], 6), v: make([1, 1, 64, 16], 7), dOut: make([1, 1, 64, 16], 8) },
      { q: make([1, 4, 1, 32], 9), k: make([1, 4, 2048, 32], 10), v: make([1, 4, 2048, 32], 11), dOut: null },
    ];
    const call = (c: (typeof cases)[number], backward: boolean): Tensor[] => {
      const saved = scaledDotProductAttentionWithLse(c.q, c.k, c.v, { impl: 'wasm' });
      if (!backward || c.dOut === null) return [saved.output];
      const g = scaledDotProductAttentionBackward(c.q, c.k, c.v, c.dOut, { impl: 'wasm', saved });
      return [saved.output, g.dq, g.dk, g.dv];
    };
    const limit = wasm.info().threads;
    wasm.setThreads(1);
    const alone = cases.map((c) => call(c, true).map((t) => t.data));
    wasm.setThreads(limit);
    const pause = (ms: number) => {
      const t0 = performance.now();
      while (performance.now() - t0 < ms);
    };
    const pauses = [0, LINGER_MS / 4, LINGER_MS * 1.5, LINGER_MS * 6];
    const rounds = 240;
    const workerTasksByQuarter = [0, 0, 0, 0];
    for (let r = 0; r < rounds; r++) {
      const c = r % cases.length;
      const before = wasm.info().workerTasks;
      const got = call(cases[c], r % 2 === 0);
      workerTasksByQuarter[Math.floor((4 * r) / rounds)] += wasm.info().workerTasks - before;
      for (let t = 0; t < got.length; t++) assert.deepEqual(got[t].data, alone[c][t], `round ${r}, case ${c}, result ${t}`);
      pause(pauses[(r * 7) % pauses.length]);
    }
    // Each quarter of the run had workers taking tasks (the failure seen: none after the first few jobs).
    for (const [quarter, tasks] of workerTasksByQuarter.entries()) assert.ok(tasks > 0, `quarter ${quarter}: the workers took no task`);
  });
});
