import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randn, scaledDotProductAttentionBackward, scaledDotProductAttentionWithLse } from '../src/index.js';
import { kernelRuntime } from '../src/attention/wasm/loader.js';
import { CTRL, type JobParams } from '../src/attention/wasm/abi.js';
import { copyOut, touchedArray } from '../src/attention/wasm/copy.js';

// The short calls' fixed costs (issue 22): a call's fresh result arrays are
// allocated and their pages touched by the calling thread while the workers
// already run the kernel (KernelRuntime.run's `meanwhile`), and copyOut then
// fills those arrays. Correctness of the results is the shared suites' job;
// this file checks the plumbing.

describe('impl wasm: results allocated while the kernel runs', () => {
  it('touchedArray gives n zeros', () => {
    for (const n of [0, 1, 1023, 1024, 1025, 131072]) {
      const a = touchedArray(n);
      assert.ok(a instanceof Float32Array);
      assert.equal(a.length, n);
      assert.ok(a.every((x) => x === 0));
    }
  });

  it('copyOut fills the array it is given (padded or not, rounded or not) and refuses one of another length', () => {
    const heap = Float32Array.from({ length: 4096 }, (_, i) => (i % 97) / 7 - 3);
    const at = 256; // bytes
    // 2 matrices of 3 x 5 stored as 4 x 8, and unpadded.
    for (const [rowsP, colsP] of [[4, 8], [3, 5]]) {
      for (const round of [null, (x: number) => Math.round(x)]) {
        const given = new Float32Array(2 * 3 * 5);
        const out = copyOut(heap, at, 2, 3, 5, rowsP, colsP, round, given);
        assert.equal(out, given);
        for (let m = 0; m < 2; m++) {
          for (let r = 0; r < 3; r++) {
            for (let c = 0; c < 5; c++) {
              const x = heap[at / 4 + (m * rowsP + r) * colsP + c];
              assert.equal(out[(m * 3 + r) * 5 + c], round === null ? x : Math.round(x));
            }
          }
        }
      }
    }
    assert.throws(() => copyOut(heap, at, 2, 3, 5, 4, 8, null, new Float32Array(29)), /copyOut into 29 elements, expected 30/);
  });

  it('runs meanwhile once per job, after the job is published, before run returns; also for a job of no tasks', () => {
    const rt = kernelRuntime();
    assert.ok(rt !== null);
    let calls = 0;
    rt.run('forwardPack', {} as JobParams['forwardPack'], 0, 0, { meanwhile: () => calls++ });
    assert.equal(calls, 1);
  });

  it('finishes the job before it throws what meanwhile threw, so the next call is whole', () => {
    const rt = kernelRuntime()!;
    const [q, k, v] = [1, 2, 3].map((seed) => randn([2, 300, 24], { seed }));
    const want = scaledDotProductAttentionWithLse(q, k, v, { impl: 'wasm' }).output.data;
    const run = rt.run.bind(rt);
    rt.run = ((kind, params, nTasks, flops, options = {}) => {
      run(kind, params, nTasks, flops, { ...options, meanwhile: options.meanwhile && (() => {
        throw new RangeError('out of memory, as a test');
      }) });
      // Every task of the job is done by the time run has thrown: none is left claimable or running.
    }) as typeof rt.run;
    try {
      assert.throws(() => scaledDotProductAttentionWithLse(q, k, v, { impl: 'wasm' }), /out of memory, as a test/);
      const claim = new BigInt64Array(rt.memory.buffer, CTRL.claim, 1)[0];
      assert.equal(claim & 0xffffffn, (claim >> 24n) & 0xffffffn, 'a task of the failed job is still claimable');
      assert.equal(new Int32Array(rt.memory.buffer, 0, CTRL.bytes / 4)[CTRL.done / 4], Number((claim >> 24n) & 0xffffffn), 'a task of the failed job is still running');
    } finally {
      rt.run = run;
    }
    assert.deepEqual(scaledDotProductAttentionWithLse(q, k, v, { impl: 'wasm' }).output.data, want);
  });

  it('the forward allocates its output, and the backward its three gradients, during their longest job', () => {
    const rt = kernelRuntime()!;
    // Float32Arrays constructed during a meanwhile are recorded (a subclass swapped in for the global meanwhile only).
    const Plain = globalThis.Float32Array;
    class Recorded extends Plain {
      constructor(n: number) {
        super(n);
        made.push(this);
      }
    }
    const made: Float32Array[] = [];
    const seen: { kind: string; published: boolean }[] = [];
    const run = rt.run.bind(rt);
    rt.run = ((kind, params, nTasks, flops, options = {}) => {
      const { meanwhile } = options;
      const spy = meanwhile && (() => {
        // The job's tasks are claimable (the claim word holds its count) before the caller's own JavaScript runs.
        const claim = new BigInt64Array(rt.memory.buffer, CTRL.claim, 1)[0];
        seen.push({ kind, published: Number((claim >> 24n) & 0xffffffn) === nTasks });
        globalThis.Float32Array = Recorded as unknown as Float32ArrayConstructor;
        try {
          meanwhile();
        } finally {
          globalThis.Float32Array = Plain;
        }
      });
      const before = seen.length;
      run(kind, params, nTasks, flops, { ...options, meanwhile: spy });
      if (meanwhile) assert.equal(seen.length, before + 1, `${kind}: meanwhile did not run once before run returned`);
    }) as typeof rt.run;
    let results: Float32Array[];
    try {
      const [q, k, v, dO] = [1, 2, 3, 4].map((seed) => randn([2, 200, 24], { seed }));
      const saved = scaledDotProductAttentionWithLse(q, k, v, { impl: 'wasm' });
      const grads = scaledDotProductAttentionBackward(q, k, v, dO, { impl: 'wasm', saved });
      results = [saved.output.data, grads.dq.data, grads.dk.data, grads.dv.data] as Float32Array[];
    } finally {
      rt.run = run;
      globalThis.Float32Array = Plain;
    }
    assert.deepEqual(seen, [{ kind: 'forward', published: true }, { kind: 'backwardKv', published: true }]);
    for (const [i, r] of results.entries()) assert.ok(made.includes(r), `result ${i} was not the array allocated meanwhile`);
  });
});
