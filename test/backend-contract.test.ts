import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { FLOAT_DTYPES, wasm, webgpu, zeros } from '../src/index.js';
import { BACKENDS, prepareAttention } from '../src/kernels.js';

// The backend contract (src/attention/problem.ts): each backend declares the
// dtypes it takes, and its `supports` agrees with the declaration. The shared
// suites read the declaration (test/helpers/backends.ts), so it must be true.

describe('the backend contract', () => {
  for (const backend of BACKENDS) {
    it(`${backend.name}: supports() takes exactly the declared dtypes (${backend.dtypes.join(', ')})`, {
      skip: backend.name === 'wasm' && !wasm.info().available ? 'the wasm module is unavailable here'
        : backend.name === 'webgpu' && !webgpu.info().available ? 'no WebGPU device here (the Chromium suite runs webgpu)' : false,
    }, () => {
      for (const dtype of FLOAT_DTYPES) {
        const x = zeros([1, 1, 2, 2], { dtype });
        assert.equal(backend.supports(prepareAttention('contract', x, x, x, {})), backend.dtypes.includes(dtype), `${backend.name} in ${dtype}`);
      }
    });
  }

  it("wasm called where its module cannot load throws a ScaledotError naming the fallback, not a bare Error", () => {
    const kernels = JSON.stringify(new URL('../src/kernels.ts', import.meta.url).href);
    const code = `WebAssembly.validate = () => false;
      const k = await import(${kernels});
      const { zeros } = await import(${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)});
      const x = zeros([1, 1, 2, 2]);
      const backend = k.BACKENDS.find((b) => b.name === 'wasm');
      try { backend.forward(k.prepareAttention('t', x, x, x, {})); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(child.status, 0, child.stderr);
    const err = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { name?: string; code?: string; message?: string };
    assert.equal(err.name, 'ScaledotError');
    assert.equal(err.code, 'E_OPTION');
    assert.match(err.message ?? '', /impl 'wasm'.*unavailable.*impl 'auto'/);
  });
});
