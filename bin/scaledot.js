#!/usr/bin/env node
// The installed command runs the built CLI; `npm run build` makes dist/.
import { main } from '../dist/cli/main.js';
import { enableRelaxedSimd } from '../dist/index.js';

// Fused multiply-add kernels on Node 20 too (a V8 flag there; see src/cli/main.ts).
enableRelaxedSimd();

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
