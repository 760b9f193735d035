import { wasm } from '../../src/index.js';
import { main } from '../../src/cli/main.js';

/**
 * npm run bench [-- --quick] [--impl a,b] [--shape 8x1024x64,causal-1x16384x64] [--direction forward] [--interleave] [--json FILE]
 *
 * The same harness as `scaledot bench` (src/bench/, src/cli/bench.ts), run
 * from the source; the peers come from tools/bench/peers (npm run bench:peers-install).
 */
wasm.enableRelaxedSimd(); // as the installed command does (bin/scaledot.js)
main(['bench', ...process.argv.slice(2)]).then((code) => {
  process.exitCode = code;
});
