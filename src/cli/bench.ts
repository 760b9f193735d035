import type { Command } from 'commander';
import { browserImplNames, chromiumPath, DEFAULT_CHROMIUM } from '../bench/browser.js';
import { checkWritable, resultsPath, runBench, type BenchOptions } from '../bench/harness.js';
import { runDecodeBench } from '../bench/decode-run.js';
import { DECODE_SHAPES, parseDecodeShape } from '../bench/decode.js';
import { benchImpls, defaultImplNames } from '../bench/impls.js';
import { ORT_WEBGPU_ROWS } from '../bench/impls-onnx.js';
import { FULL_SHAPES, QUICK_SHAPES, parseShape, type Direction } from '../bench/shapes.js';
import { relaxedSimdSupported } from '../attention/index.js';
import { wasm } from '../index.js';
import { ScaledotError } from '../tensor/index.js';

/** The command line as commander hands it over, before any check. */
export interface BenchCliOptions {
  quick?: boolean;
  impl?: string;
  shape?: string;
  direction?: string;
  json?: string;
  interleave?: boolean;
  ceiling: boolean;
  browser?: boolean;
  chromium?: string;
  decode?: boolean;
  rounds?: string;
  simd128?: boolean;
}

const list = (text: string): string[] => text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Checks every flag and turns it into a plan, or throws ScaledotError naming the flag: before any case runs. */
export function checkBenchOptions(options: BenchCliOptions): BenchOptions {
  const fn = 'bench';
  const browser = options.browser === true;
  if (options.chromium !== undefined && !browser) throw new ScaledotError('E_OPTION', `${fn}: --chromium is for --browser runs; add --browser or drop it`);
  const inBrowser = browserImplNames();
  const known = [...new Set([...benchImpls().map((i) => i.name), ...inBrowser])];
  const impls = options.impl === undefined
    ? (browser ? inBrowser.filter((name) => name !== 'reference') : defaultImplNames())
    : list(options.impl);
  if (impls.length === 0) throw new ScaledotError('E_OPTION', `${fn}: --impl is empty; expected some of ${known.join(', ')}`);
  for (const name of impls) {
    if (!known.includes(name)) throw new ScaledotError('E_OPTION', `${fn}: --impl ${name} is not an implementation; expected some of ${known.join(', ')}`);
    if (!browser && ORT_WEBGPU_ROWS.includes(name)) throw new ScaledotError('E_OPTION', `${fn}: --impl ${name} runs in a browser only (onnxruntime-web's webgpu execution provider needs WebGPU, which Node lacks); add --browser`);
    if (browser && !inBrowser.includes(name)) {
      throw new ScaledotError('E_OPTION', `${fn}: --impl ${name} runs in Node only; with --browser expected some of ${inBrowser.join(', ')}`);
    }
  }
  const shapes = options.shape === undefined ? (options.quick ? QUICK_SHAPES : FULL_SHAPES) : list(options.shape);
  if (shapes.length === 0) throw new ScaledotError('E_OPTION', `${fn}: --shape is empty; expected shapes such as 8x1024x64,causal-1x4096x64`);
  for (const s of shapes) parseShape(s);
  const directions = (options.direction === undefined ? ['forward', 'backward'] : list(options.direction)) as Direction[];
  for (const d of directions) {
    if (d !== 'forward' && d !== 'backward') throw new ScaledotError('E_OPTION', `${fn}: --direction is ${JSON.stringify(options.direction)}; expected forward, backward or forward,backward`);
  }
  if (options.json !== undefined && options.json.trim() === '') throw new ScaledotError('E_OPTION', `${fn}: --json is empty; expected a file name`);
  const simd128 = options.simd128 === true;
  if (simd128 && browser) throw new ScaledotError('E_OPTION', `${fn}: --simd128 is for Node 20, whose default path is SIMD128; Chromium runs relaxed SIMD by default, so --browser already times its default path: drop one`);
  // Where relaxed SIMD validates before the bench turns it on, a case would load the relaxed kernels and
  // ceiling either way (Node 22+, or node started with the flag): the SIMD128 path is not the default there.
  if (simd128 && relaxedSimdSupported()) {
    throw new ScaledotError('E_OPTION', `${fn}: --simd128 times Node 20's default path, but this Node (${process.version}) validates relaxed SIMD without being asked, so its default path is the relaxed one and the bench times it already: drop --simd128`);
  }
  return {
    quick: options.quick === true, impls, shapes, directions: [...new Set(directions)], json: options.json,
    interleave: options.interleave === true, ceiling: options.ceiling,
    ...(browser ? { browser: chromiumPath(options.chromium) } : {}),
    ...(simd128 ? { simd128 } : {}),
  };
}

/** --decode: the decode benchmark's own shapes and rounds; the flags of the other runs are refused, not ignored. */
function checkDecodeOptions(options: BenchCliOptions): { shapes: string[]; rounds: number; json?: string; browser?: string } {
  const fn = 'bench';
  if (options.chromium !== undefined && options.browser !== true) throw new ScaledotError('E_OPTION', `${fn}: --chromium is for --browser runs; add --browser or drop it`);
  for (const flag of ['impl', 'direction', 'interleave'] as const) {
    if (options[flag] !== undefined) throw new ScaledotError('E_OPTION', `${fn}: --${flag} does not apply to --decode (it times every decode row of a shape in one process); drop it`);
  }
  if (options.simd128 !== undefined) throw new ScaledotError('E_OPTION', `${fn}: --simd128 does not apply to --decode, which always times the default path (relaxed SIMD as the engine has it); drop it`);
  const shapes = options.shape === undefined ? (options.quick ? DECODE_SHAPES.slice(0, 2) : DECODE_SHAPES) : list(options.shape);
  if (shapes.length === 0) throw new ScaledotError('E_OPTION', `${fn}: --shape is empty; expected decode shapes such as ${DECODE_SHAPES.join(',')}`);
  for (const s of shapes) parseDecodeShape(s);
  const rounds = options.rounds === undefined ? (options.quick ? 5 : 15) : Number(options.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new ScaledotError('E_OPTION', `${fn}: --rounds is ${JSON.stringify(options.rounds)}; expected an integer >= 1`);
  if (options.json !== undefined && options.json.trim() === '') throw new ScaledotError('E_OPTION', `${fn}: --json is empty; expected a file name`);
  return { shapes, rounds, json: options.json, ...(options.browser === true ? { browser: chromiumPath(options.chromium) } : {}) };
}

/**
 * `scaledot bench`: times every implementation (scaledot's backends and,
 * where installed, onnxruntime-node, onnxruntime-web and TensorFlow.js) on
 * every shape, each in a child process, against this machine's measured SIMD
 * ceiling; with --browser, scaledot and onnxruntime-web in headless Chromium.
 * The table goes to stdout, every figure to a JSON file.
 */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time the attention implementations on this machine (peers where installed) against its measured WebAssembly SIMD ceiling; prints a table and writes JSON')
    .option('--quick', `a smoke run of about two minutes: shapes ${QUICK_SHAPES.join(', ')}, 1 s and at most 5 runs per case`)
    .option('--impl <names>', `comma-separated implementations (default: all but reference): ${benchImpls().map((i) => i.name).join(', ')}`)
    .option('--shape <shapes>', `comma-separated HEADSxNxD or causal-HEADSxNxD (default: ${FULL_SHAPES.join(', ')})`)
    .option('--direction <d>', 'forward, backward or both (default: forward,backward)')
    .option('--json <file>', 'where to write the results (default: tools/bench/results/<timestamp>.json in a checkout, ./scaledot-bench-<timestamp>.json otherwise)')
    .option('--interleave', 'time all implementations of a shape in one process, in turn: fair ratios on a loaded machine; extra MiB is then not measured')
    .option('--no-ceiling', 'skip measuring the SIMD multiply-add ceiling (and the % of ceiling column)')
    .option('--browser', 'run the cases in headless Chromium instead of Node: scaledot and onnxruntime-web (ort-web-*) in a cross-origin isolated page, so both use Web Workers and shared memory; needs playwright-core and a Chromium; the memory columns stay empty')
    .option('--chromium <path>', `the Chromium --browser drives (default: $SCALEDOT_CHROMIUM, else ${DEFAULT_CHROMIUM})`)
    .option('--decode', `time one decoding step (L query rows over a cache of S keys) against onnxruntime-web, a memory copy and the measured memory-read ceiling, in one process (with --browser, in one page of Chromium); shapes decode-HQ[/HKV]xSxE[-lL] (default: ${DECODE_SHAPES.join(', ')})`)
    .option('--rounds <n>', 'with --decode: rounds of interleaved turns (default 15; --quick 5)')
    .option('--simd128', 'time the SIMD128 kernels (mul + add) against the mul + add ceiling: the default path of a library user on Node 20, where relaxed SIMD is behind a flag; without it the bench turns relaxed SIMD on')
    .action(async (options: BenchCliOptions) => {
      if (options.decode) {
        const decode = checkDecodeOptions(options);
        const json = resultsPath(decode.json);
        checkWritable(json);
        const tty = process.stderr.isTTY;
        const { text, file } = await runDecodeBench({ ...decode, json }, tty ? (line) => process.stderr.write(`\r\x1b[K${line}`) : null);
        if (tty) process.stderr.write('\r\x1b[K');
        process.stdout.write(`${text}\n`);
        process.stderr.write(`bench: results written to ${file}\n`);
        process.exit(0); // onnxruntime-web's threads would keep the process alive
      }
      if (options.rounds !== undefined) throw new ScaledotError('E_OPTION', 'bench: --rounds is for --decode runs; add --decode or drop it');
      const plan = checkBenchOptions(options);
      // The one command that turns on relaxed SIMD where the engine has it behind a flag (Node 20):
      // it times the fastest path, and its table names the path; --simd128 times the default path
      // instead. lab, train and inspect run what \`import 'scaledot'\` runs, so they give the same
      // bytes (docs/wasm.md, "Relaxed SIMD").
      if (plan.simd128 !== true) wasm.enableRelaxedSimd();
      plan.json = resultsPath(plan.json);
      checkWritable(plan.json);
      const tty = process.stderr.isTTY;
      const { text, file } = await runBench(plan, tty ? (line) => process.stderr.write(`\r\x1b[K${line}`) : null);
      if (tty) process.stderr.write('\r\x1b[K');
      process.stdout.write(`${text}\n`);
      process.stderr.write(`bench: results written to ${file}\n`);
    });
}
