import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as abi from '../src/attention/wasm/abi.js';
// @ts-expect-error: a plain .mjs build helper without type declarations
import { assemblyAbi, upperSnake } from '../assembly/abi-source.mjs';

// The loader's ABI (src/attention/wasm/abi.ts) is the one source; build:wasm
// (run by pretest) writes the kernels' constants from it. These tests check
// that the kernels and the ABI's parameter list agree slot by slot.

const assemblyDir = new URL('../assembly/', import.meta.url).pathname;
const kernelSource = (file: string): string => readFileSync(join(assemblyDir, file), 'utf8');
const paramsRead = (source: string): Set<string> => new Set([...source.matchAll(/\bP_[A-Z0-9_]+\b/g)].map((m) => m[0]));
const handWritten = readdirSync(assemblyDir).filter((f) => f.endsWith('.ts') && f !== 'abi-generated.ts' && f !== 'abi.ts');
const byName = new Map(Object.keys(abi.PARAMS).map((name) => [`P_${upperSnake(name) as string}`, name as abi.ParamName]));

describe('wasm ABI: one source for the loader and the kernels', () => {
  it('the kernels were built from the current ABI (abi-generated.ts is what the ABI writes)', () => {
    assert.equal(kernelSource('abi-generated.ts'), assemblyAbi(abi));
  });

  it('every slot the kernels read is in the ABI, and every slot in the ABI is read (no unused slots)', () => {
    const read = new Set<string>();
    for (const f of handWritten) for (const p of paramsRead(kernelSource(f))) read.add(p);
    for (const p of read) assert.ok(byName.has(p), `assembly/ reads ${p}, which src/attention/wasm/abi.ts does not define`);
    for (const p of byName.keys()) assert.ok(read.has(p), `${p} (${byName.get(p)}) is in the ABI but no kernel reads it`);
  });

  it("each slot's pass matches the kernels that read it", () => {
    // A job writes only its pass's parameters, so a kernel must not read another pass's.
    // backward.ts calls forward.ts's K packing, which reads shared slots only; the decode
    // job also writes the forward's output and sink slots (DecodeParams), which decode.ts may read.
    const readers: Record<'forward' | 'backward' | 'decode', string[]> = {
      forward: ['forward.ts', 'mask.ts'], backward: ['backward.ts', 'mask.ts'], decode: ['decode.ts', 'mask.ts'],
    };
    const decodeMayRead = new Set(['v', 'o', 'mrow', 'lrow', 'sinks']);
    for (const pass of ['forward', 'backward', 'decode'] as const) {
      for (const f of readers[pass]) {
        for (const p of paramsRead(kernelSource(f))) {
          const name = byName.get(p)!;
          const slotPass = abi.PARAMS[name].pass;
          assert.notEqual(slotPass, 'job', `assembly/${f} reads ${p}, which only the dispatcher uses`);
          if (slotPass === 'both' || slotPass === pass || (pass === 'decode' && decodeMayRead.has(name))) continue;
          assert.fail(`assembly/${f} (the ${pass} pass) reads ${p}, a ${slotPass}-only slot`);
        }
      }
    }
  });

  it('the parameter slots fit in the control block, after its words', () => {
    assert.ok(abi.CTRL.params >= abi.CTRL.error + 4);
    assert.ok(abi.CTRL.params + 4 * abi.PARAM_COUNT <= abi.CTRL.bytes);
    assert.ok(abi.CTRL.bytes <= abi.HEAP_BASE);
  });
});
