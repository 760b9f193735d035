import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// SharedArrayBuffer (threaded wasm) needs a cross-origin isolated page; the dev
// and preview servers send the same headers as `scaledot serve`.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: webRoot,
  // Relative asset URLs: the built page works from any path or folder.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // vega and vega-lite are one large chunk by nature; the warning says nothing useful.
    chunkSizeWarningLimit: 2000,
  },
  worker: { format: 'es' },
  server: {
    headers: isolation,
    // The page imports the library's source from ../src.
    fs: { allow: [repoRoot] },
  },
  preview: { headers: isolation },
});
