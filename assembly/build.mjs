// Builds the attention kernels from assembly/*.ts, one source, four modules:
//   wasm/attention.wasm                  SIMD128 + threads, over a shared memory
//   wasm/attention-relaxed.wasm          the same with relaxed-SIMD multiply-add
//   wasm/attention-single.wasm           SIMD128 over an unshared memory (no SharedArrayBuffer)
//   wasm/attention-single-relaxed.wasm   the same with relaxed-SIMD multiply-add
// and, from assembly/ceiling.ts, wasm/ceiling.wasm and wasm/ceiling-relaxed.wasm:
// the benchmark's multiply-add ceiling (src/bench/ceiling.ts), no memory; and from
// assembly/bandwidth.ts, wasm/bandwidth.wasm: its memory-read ceiling (src/bench/bandwidth.ts).
// The loader takes the best one the engine validates. Skips the work when
// all are newer than every source, so `npm test` and `npm start` can depend
// on it cheaply. Each file is written to a temporary name and renamed, so a
// failed build never leaves a half-written module behind.
//
// The ABI has one source, src/attention/wasm/abi.ts: this script writes its
// constants as assembly/abi-generated.ts (rewritten only when they change, so
// the up-to-date check below still holds) and passes its HEAP_BASE as the
// module's memoryBase.
//   node assembly/build.mjs [--force]
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { assemblyAbi } from './abi-source.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const abiSource = join(root, 'src', 'attention', 'wasm', 'abi.ts');
const abi = await tsImport(abiSource, import.meta.url);

const generated = join(here, 'abi-generated.ts');
const abiText = assemblyAbi(abi);
let current = null;
try {
  current = readFileSync(generated, 'utf8');
} catch {
  // first build
}
if (current !== abiText) {
  writeFileSync(`${generated}.${process.pid}.tmp`, abiText);
  renameSync(`${generated}.${process.pid}.tmp`, generated);
}
const targets = [
  { name: 'threads', out: join(root, 'wasm', 'attention.wasm') },
  { name: 'threads-relaxed', out: join(root, 'wasm', 'attention-relaxed.wasm') },
  { name: 'single', out: join(root, 'wasm', 'attention-single.wasm') },
  { name: 'single-relaxed', out: join(root, 'wasm', 'attention-single-relaxed.wasm') },
  ...[['ceiling', 'simd'], ['ceiling-relaxed', 'simd,relaxed-simd']].map(([name, features]) => ({
    name,
    out: join(root, 'wasm', `${name}.wasm`),
    args: [join(here, 'ceiling.ts'), '--runtime', 'stub', '--noAssert', '--use', 'abort=', '--optimizeLevel', '3', '--enable', features],
  })),
  {
    name: 'bandwidth',
    out: join(root, 'wasm', 'bandwidth.wasm'),
    args: [join(here, 'bandwidth.ts'), '--runtime', 'stub', '--noAssert', '--use', 'abort=', '--optimizeLevel', '3', '--enable', 'simd,threads',
      '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536'],
  },
];

const sources = [join(here, 'asconfig.json'), fileURLToPath(import.meta.url), abiSource];
for (const f of readdirSync(here)) if (f.endsWith('.ts') || f.endsWith('.mjs')) sources.push(join(here, f));
const newestSource = Math.max(...sources.map((f) => statSync(f).mtimeMs));
const upToDate = (f) => {
  try {
    return statSync(f).mtimeMs > newestSource;
  } catch {
    return false;
  }
};

if (!process.argv.includes('--force') && targets.every((t) => upToDate(t.out))) process.exit(0);

// Loaded only when there is work: importing the compiler alone takes a second.
const { default: asc } = await import('assemblyscript/asc');
mkdirSync(join(root, 'wasm'), { recursive: true });
for (const t of targets) {
  const tmp = `${t.out}.${process.pid}.tmp`;
  const { error, stderr } = await asc.main(
    t.args ? [...t.args, '--outFile', tmp]
      : ['--config', join(here, 'asconfig.json'), '--target', t.name, '--outFile', tmp, '--memoryBase', String(abi.HEAP_BASE)],
    {},
  );
  if (error) {
    rmSync(tmp, { force: true });
    process.stderr.write(stderr.toString());
    process.stderr.write(`build:wasm: ${t.name} failed: ${error.message}\n`);
    process.exit(1);
  }
  renameSync(tmp, t.out);
  process.stderr.write(`build:wasm: wrote ${t.out.slice(root.length + 1)} (${statSync(t.out).size} bytes)\n`);
}
