/**
 * How to start a worker thread on a module of this package. Built, the module
 * is the .js file itself. Run from source (tests, `npx tsx`), it is .ts, and a
 * worker does not inherit tsx's loader hooks (nor does `--import tsx` in its
 * execArgv apply to its entry module on Node 20), so a tiny bootstrap
 * registers tsx first and then imports it.
 *
 * `module` is the worker's URL as the caller's own file would name it, with
 * the caller's extension (`new URL('./train-worker.js', import.meta.url)` from
 * a .js file, `.ts` from a .ts one): pass the base name and the caller's URL.
 */
export function workerEntry(baseName: string, callerUrl: string): { script: string | URL; eval: boolean } {
  if (!callerUrl.endsWith('.ts')) return { script: new URL(`./${baseName}.js`, callerUrl), eval: false };
  // The ESM entry of tsx's API (its CommonJS entry cannot register from an eval'd worker).
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const worker = new URL(`./${baseName}.ts`, callerUrl).href;
  return { script: `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(worker)}); });`, eval: true };
}
