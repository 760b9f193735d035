import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listAttentionImpls } from '../index.js';
import { ScaledotError } from '../tensor/index.js';
import type { PageConfig } from './browser-page.js';
import { startBenchServer } from './browser-server.js';
import { BANDWIDTH_BYTES } from './bandwidth.js';
import type { CaseOutput, CaseSpec } from './case.js';
import type { DecodeResult } from './decode.js';
import { ORT_WEBGPU_ROWS } from './impls-onnx.js';
import { IN_REPO, PACKAGE_ROOT, PEERS_INSTALL_HINT, peerPackage } from './peers.js';

/**
 * `scaledot bench --browser`: the cases run in a page of headless Chromium
 * (Debian's, driven by playwright-core) instead of Node child processes. The
 * page is browser-page.ts, bundled by esbuild from the source in a checkout,
 * or dist/ as it is in an installed package, served with the cross-origin
 * isolation headers so that the WebAssembly of scaledot and of
 * onnxruntime-web runs on Web Workers over shared memory.
 */

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Headless, nothing fetched from outside, a fresh profile: the flags every browser run here uses. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/**
 * WebGPU for the webgpu rows: Chromium's own where the machine has a GPU
 * device node, else SwiftShader's (WGSL on the CPU: correct, and its
 * timings say nothing about a GPU; the rows' notes say so).
 */
export function webGpuArgs(): string[] {
  const gpu = ['/dev/dri', '/dev/nvidia0', '/dev/dxg'].some((node) => existsSync(node));
  return ['--enable-unsafe-webgpu', '--enable-features=Vulkan,WebGPU', ...(gpu ? [] : ['--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'])];
}

/** What runs in the page: scaledot's backends and onnxruntime-web's two graphs (the others are Node's). */
export function browserImplNames(): string[] {
  return [...listAttentionImpls(), 'ort-web-mha', 'ort-web-unfused', ...ORT_WEBGPU_ROWS];
}

/** The Chromium to drive: --chromium, else $SCALEDOT_CHROMIUM, else Debian's; an error before any work where it is missing. */
export function chromiumPath(given: string | undefined): string {
  const path = given ?? (process.env.SCALEDOT_CHROMIUM || DEFAULT_CHROMIUM);
  if (!existsSync(path)) {
    throw new ScaledotError('E_IO', `bench --browser: no Chromium at ${path}; install it (Debian: apt-get install chromium) or name one with --chromium PATH or SCALEDOT_CHROMIUM`);
  }
  return path;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CASE_LIMIT_MS = 15 * 60 * 1000;
const ORT_ENTRY = 'ort.wasm.min.mjs';
// The webgpu execution provider is a separate build (its own WebAssembly, ort-wasm-simd-threaded.asyncify), loaded only for its rows.
const ORT_WEBGPU_ENTRY = 'ort.webgpu.min.mjs';
const INDEX = '<!doctype html><meta charset="utf-8"><title>scaledot bench</title><script type="module" src="/page/bench/browser-page.js"></script>\n';

/** The folder served as /page/: dist/ of an installed package, or browser-page.ts and its imports bundled into `into`. */
async function pageFolder(into: string): Promise<string> {
  if (!FROM_SOURCE) return join(PACKAGE_ROOT, 'dist');
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new ScaledotError('E_IO', 'bench --browser: esbuild is not installed; a checkout bundles the page with it (npm ci)');
  }
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./browser-page.ts', import.meta.url))],
    outfile: join(into, 'bench', 'browser-page.js'),
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'error',
  });
  return into;
}

/** onnxruntime-web's dist/ to serve as /ort/, or why its rows are skipped. */
function ortFolder(): { dir: string } | { missing: string } {
  if (IN_REPO && !existsSync(join(PACKAGE_ROOT, 'tools', 'bench', 'peers', 'node_modules'))) return { missing: `tools/bench/peers is not installed (${PEERS_INSTALL_HINT})` };
  const pkg = peerPackage('onnxruntime-web');
  const dir = pkg === null ? null : join(pkg.dir, 'dist');
  if (dir === null || !existsSync(join(dir, ORT_ENTRY)) || !existsSync(join(dir, ORT_WEBGPU_ENTRY))) return { missing: `onnxruntime-web is not installed (${PEERS_INSTALL_HINT})` };
  return { dir };
}

export interface BenchBrowser {
  /** 'chromium <version>', for the table and the results file. */
  environment: string;
  /** One shape and direction in a freshly loaded page; failures come back as error rows. */
  run(spec: CaseSpec): Promise<CaseOutput>;
  /** One decode shape (decode.ts) in a freshly loaded page; a failure is thrown, naming the shape. */
  runDecode(shape: string, rounds: number): Promise<DecodeResult>;
  close(): Promise<void>;
}

/**
 * Bundles the page, starts its server and Chromium, and loads the page once
 * to check that it is cross-origin isolated. A missing playwright-core or
 * esbuild, or a Chromium that does not start, is a ScaledotError that says so.
 */
export async function openBenchBrowser(chromium: string): Promise<BenchBrowser> {
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch {
    throw new ScaledotError('E_IO', 'bench --browser: playwright-core is not installed; it drives Chromium and is only a development dependency of scaledot (npm install playwright-core)');
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'scaledot-bench-page-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const ort = ortFolder();
    const folders: Record<string, string> = { '/page/': await pageFolder(join(tmp, 'page')), '/wasm/': join(PACKAGE_ROOT, 'wasm') };
    if ('dir' in ort) folders['/ort/'] = ort.dir;
    const server = await startBenchServer({ index: INDEX, folders });
    cleanups.push(() => server.close());
    const config: PageConfig = { wasmBase: `${server.url}wasm/`, ort: 'dir' in ort ? { entry: `${server.url}ort/${ORT_ENTRY}`, webgpuEntry: `${server.url}ort/${ORT_WEBGPU_ENTRY}` } : ort };
    let context: import('playwright-core').BrowserContext;
    try {
      // --expose-gc: the case loop collects between runs, as Node's --expose-gc lets it.
      context = await playwright.chromium.launchPersistentContext(join(tmp, 'profile'), {
        executablePath: chromium, headless: true, args: [...CHROMIUM_ARGS, ...webGpuArgs(), '--js-flags=--expose-gc'],
      });
    } catch (err) {
      throw new ScaledotError('E_IO', `bench --browser: Chromium at ${chromium} did not start: ${(err as Error).message.split('\n')[0]}`);
    }
    cleanups.push(() => context.close());
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await context.route((url) => !url.href.startsWith(server.url), (route) => route.abort());
    const load = async () => {
      await page.goto(server.url);
      await page.waitForFunction(() => 'scaledotBench' in globalThis, undefined, { timeout: 60_000 });
    };
    await load();
    // The user agent string says 156.0.0.0 (reduced); the full version is a high-entropy client hint.
    const { version, isolated } = await page.evaluate(async () => {
      type Brands = { fullVersionList?: { brand: string; version: string }[] };
      const hints = (navigator as { userAgentData?: { getHighEntropyValues(h: string[]): Promise<Brands> } }).userAgentData;
      const brands = (await hints?.getHighEntropyValues(['fullVersionList']))?.fullVersionList ?? [];
      const brand = brands.find((b) => b.brand === 'Chromium') ?? brands.find((b) => /Chrom/.test(b.brand));
      return { version: brand?.version ?? navigator.userAgent, isolated: crossOriginIsolated };
    });
    if (!isolated) throw new ScaledotError('E_IO', 'bench --browser: the page is not cross-origin isolated, so its WebAssembly would run on one thread');
    return {
      environment: `chromium ${version}`,
      async run(spec) {
        pageErrors.length = 0;
        try {
          await load();
          const output = page.evaluate(([s, c]) => (globalThis as unknown as { scaledotBench: { run(s: CaseSpec, c: PageConfig): Promise<CaseOutput> } }).scaledotBench.run(s, c), [spec, config] as const);
          // As long as a child process gets in Node (harness.ts).
          let timer: NodeJS.Timeout | undefined;
          const limit = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('the page ran past 15 minutes')), CASE_LIMIT_MS);
          });
          try {
            return await Promise.race([output, limit]);
          } finally {
            clearTimeout(timer);
          }
        } catch (err) {
          const reason = [(err as Error).message.split('\n')[0], ...pageErrors.slice(-2)].join(' | ');
          return { results: spec.impls.map(() => ({ status: 'error', reason })), ceiling: null };
        }
      },
      async runDecode(shape, rounds) {
        pageErrors.length = 0;
        try {
          await load();
          type Page = { scaledotBench: { runDecode(s: string, r: number, b: number, c: PageConfig): Promise<DecodeResult> } };
          return await page.evaluate(([s, r, b, c]) => (globalThis as unknown as Page).scaledotBench.runDecode(s, r, b, c), [shape, rounds, BANDWIDTH_BYTES, config] as const);
        } catch (err) {
          throw new ScaledotError('E_IO', `bench --browser --decode: ${shape} failed in the page: ${[(err as Error).message.split('\n')[0], ...pageErrors.slice(-2)].join(' | ')}`);
        }
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
