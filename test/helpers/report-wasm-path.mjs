// Preloaded into a child process (node --import): on exit, prints which wasm
// module that process ran, as one JSON line on stderr. It imports the same
// module instance the process itself uses (the same URL), so it reads its state.
const loader = await import(new URL('../../src/attention/wasm/loader.ts', import.meta.url).href);
process.on('exit', () => process.stderr.write(`\nwasm-path ${JSON.stringify(loader.wasmAttentionInfo())}\n`));
