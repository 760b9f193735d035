#!/usr/bin/env node
// The installed command runs the built CLI; `npm run build` makes dist/.
// It leaves relaxed SIMD as the engine has it, as the library does (docs/wasm.md);
// only `scaledot bench` turns it on (src/cli/bench.ts).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
