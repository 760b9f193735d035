#!/usr/bin/env node
// The installed command runs the built CLI; `npm run build` makes dist/.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
