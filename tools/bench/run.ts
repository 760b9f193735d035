import { main } from '../../src/cli/main.js';

/**
 * npm run bench [-- --quick] [--impl a,b] [--shape 8x1024x64,causal-1x16384x64] [--direction forward] [--interleave] [--simd128] [--json FILE]
 *
 * The same harness as `scaledot bench` (src/bench/, src/cli/bench.ts), run
 * from the source; the peers come from tools/bench/peers (npm run bench:peers-install).
 * Relaxed SIMD is left to the command, as the installed one (bin/scaledot.js)
 * leaves it: bench turns it on for its cases unless --simd128; --decode times
 * the default path.
 */
main(['bench', ...process.argv.slice(2)]).then((code) => {
  process.exitCode = code;
});
