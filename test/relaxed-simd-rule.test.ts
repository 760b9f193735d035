import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The rule (docs/wasm.md, "Relaxed SIMD"): nothing but `scaledot bench` turns
// relaxed SIMD on, so `scaledot train` (lab, inspect) runs the module that
// `import 'scaledot'` runs in the same Node, and gives the same bytes. Each
// child reports the wasm module it ran on exit (helpers/report-wasm-path.mjs).

const root = fileURLToPath(new URL('..', import.meta.url));
const preload = new URL('./helpers/report-wasm-path.mjs', import.meta.url).href;

function wasmPathOf(args: string[]): { relaxedSimd: boolean; path: string } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--import', preload, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(child.status, 0, child.stderr);
  const line = child.stderr.split('\n').find((l) => l.startsWith('wasm-path '));
  assert.ok(line, `no report in ${child.stderr}`);
  return JSON.parse(line.slice('wasm-path '.length)) as { relaxedSimd: boolean; path: string };
}

describe('relaxed SIMD: the command and the library run the same module', () => {
  it('scaledot train loads the module a plain import of the library loads', () => {
    const library = wasmPathOf(['--input-type=module', '-e', `
      const s = await import(${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)});
      const q = s.randn([1, 2, 64, 16], { seed: 1 });
      s.scaledDotProductAttention(q, q, q, { impl: 'wasm' });`]);
    const command = wasmPathOf(['src/cli/main.ts', 'train', '--task', 'recall', '--steps', '1', '--seed', '5', '--width', '16', '--head-dim', '8', '--batch-size', '4']);
    assert.notEqual(library.path, 'unavailable');
    assert.deepEqual({ relaxedSimd: command.relaxedSimd, path: command.path }, { relaxedSimd: library.relaxedSimd, path: library.path });
  });
});
