import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// esbuild comes with tsx, which runs the tests.
import { build, type Plugin } from 'esbuild';
import * as root from '../src/index.js';
import * as kernels from '../src/kernels.js';
import * as nn from '../src/nn/index.js';
import * as lab from '../src/lab/index.js';

// The package has four entry points: 'scaledot' (what a kernel user reads),
// 'scaledot/kernels' (the plumbing under it), 'scaledot/nn' and 'scaledot/lab'.
// The root must bundle for a browser with no Node built-in, and must not carry
// the others. Each entry point's runtime names are pinned here: a name added to
// or dropped from one is a change of the public promise, made on purpose.

const ROOT_NAMES = [
  'DTYPES', 'FLOAT_DTYPES', 'Rng', 'SOFTMAX_ALGORITHMS', 'ScaledotError', 'Tensor', 'attentionWeights', 'createKvCache',
  'dtypeInfo', 'full', 'listAttentionImpls', 'logSoftmax', 'logSoftmaxBackward', 'logsumexp', 'randn',
  'scaledDotProductAttention', 'scaledDotProductAttentionBackward', 'scaledDotProductAttentionWithLse',
  'scaledDotProductAttentionAsync', 'scaledDotProductAttentionBackwardAsync', 'scaledDotProductAttentionWithLseAsync',
  'softmax', 'softmaxBackward', 'tensor', 'wasm', 'webgpu', 'zeros',
];
const KERNEL_NAMES = [
  'BACKENDS', 'MAX_BUFFER_BYTES', 'allocate', 'attentionImplOf', 'attentionOutputShape', 'axisLayout', 'broadcastShapes',
  'broadcastStrides', 'checkBufferSize', 'checkFloatTensor', 'checkShape', 'checkTensor', 'contiguousStrides',
  'dropoutHash', 'dropoutKeeps', 'dtypeArithmetic', 'dtypeInfo', 'forEachAxisRow', 'formatShape', 'isFloatDType',
  'isKnownImpl', 'logSoftmaxBackwardRow', 'logSoftmaxRow', 'logsumexpRow', 'normalizeAxis', 'prepareAttention',
  'prepareAttentionBackward', 'referenceBackend', 'referenceBackward', 'referenceForward', 'resolveBackend',
  'roundBfloat16', 'roundFloat16', 'roundTo', 'rounder', 'rowMax', 'sizeOf', 'softmaxBackwardRow', 'softmaxRow',
  'softmaxRowNaive', 'softmaxRowOnline', 'softmaxRowSafe', 'softmaxRowStats', 'storageClass', 'stridedRow',
];

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; import: string }>;
};

/** The source file an export of package.json builds from: ./dist/x/index.js → src/x/index.ts. */
function sourceOfExport(subpath: string): string {
  const target = pkg.exports[subpath];
  assert.ok(typeof target === 'object', `package.json exports ${subpath} with types and import`);
  assert.match(target.import, /^\.\/dist\/.*\.js$/);
  assert.equal(target.types, target.import.replace(/\.js$/, '.d.ts'));
  return join(repoRoot, target.import.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

describe('entry points', () => {
  it("package.json exports '.', './kernels', './nn' and './lab', each built from its own entry file", () => {
    assert.deepEqual(Object.keys(pkg.exports).sort(), ['.', './kernels', './lab', './nn', './package.json']);
    assert.equal(sourceOfExport('.'), join(repoRoot, 'src/index.ts'));
    assert.equal(sourceOfExport('./kernels'), join(repoRoot, 'src/kernels.ts'));
    assert.equal(sourceOfExport('./nn'), join(repoRoot, 'src/nn/index.ts'));
    assert.equal(sourceOfExport('./lab'), join(repoRoot, 'src/lab/index.ts'));
  });

  it('the root exports what a kernel user reads, and nothing else', () => {
    assert.deepEqual(Object.keys(root).sort(), [...ROOT_NAMES].sort());
    assert.deepEqual(Object.keys(root.wasm).sort(), ['enableRelaxedSimd', 'info', 'init', 'setThreads']);
    assert.ok(Object.isFrozen(root.wasm));
    assert.deepEqual(Object.keys(root.webgpu).sort(), ['autoMinFlops', 'info', 'init', 'setAutoMinFlops']);
    assert.ok(Object.isFrozen(root.webgpu));
  });

  it('scaledot/kernels exports the plumbing: row kernels, prepareAttention, the backends, the dropout hash', () => {
    assert.deepEqual(Object.keys(kernels).sort(), [...KERNEL_NAMES].sort());
    // The two share only what both kinds of reader need to name a dtype's range.
    assert.deepEqual(Object.keys(kernels).filter((n) => n in root), ['dtypeInfo']);
  });

  it('the root exports no name of scaledot/nn or scaledot/lab', () => {
    const rootNames = new Set(Object.keys(root));
    for (const [name, names] of [['nn', Object.keys(nn)], ['lab', Object.keys(lab)]] as const) {
      const shared = names.filter((n) => rootNames.has(n));
      assert.deepEqual(shared, [], `the root re-exports scaledot/${name}'s ${shared.join(', ')}`);
    }
    assert.ok(rootNames.has('scaledDotProductAttention') && rootNames.has('ScaledotError') && rootNames.has('softmax'));
  });

  it("import * as s from 'scaledot' bundles for the browser without any Node built-in", async () => {
    const nodeImports: string[] = [];
    const builtins = new Set(builtinModules);
    const recordNode: Plugin = {
      name: 'record-node-builtins',
      setup(b) {
        b.onResolve({ filter: /^scaledot$/ }, () => ({ path: sourceOfExport('.') }));
        b.onResolve({ filter: /.*/ }, (args) => {
          if (args.path.startsWith('node:') || builtins.has(args.path.split('/')[0])) {
            nodeImports.push(`${args.path} (from ${args.importer.slice(repoRoot.length)})`);
            return { path: args.path, external: true };
          }
          return undefined;
        });
      },
    };
    const result = await build({
      stdin: { contents: "import * as s from 'scaledot';\nconsole.log(Object.keys(s).length);\n", resolveDir: repoRoot, loader: 'ts' },
      bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent', plugins: [recordNode],
    });
    assert.deepEqual(nodeImports, [], 'the browser bundle pulls in Node built-ins');
    const sources = Object.keys(result.metafile.inputs);
    assert.ok(sources.some((f) => f.endsWith('src/attention/index.ts')), 'the bundle holds the attention layer');
    assert.ok(!sources.some((f) => /src\/(nn|lab|cli)\//.test(f)), `the bundle holds nn, lab or cli code: ${sources.filter((f) => /src\/(nn|lab|cli)\//.test(f)).join(', ')}`);
  });
});
