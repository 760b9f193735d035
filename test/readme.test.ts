import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The README's examples are promises to a newcomer: every ```ts block must run as written.
const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

/** 'scaledot', 'scaledot/kernels', 'scaledot/nn', 'scaledot/lab' are the package itself: the examples import its source, so no build is needed. */
function sourceOf(subpath: string | undefined): string {
  if (subpath === '/kernels') return join(root, 'src', 'kernels.ts');
  return join(root, 'src', subpath ?? '', 'index.ts');
}

describe('README', () => {
  it('opens with the two commands a newcomer needs', () => {
    const firstBlock = readme.match(/```sh\n([\s\S]*?)```/)?.[1] ?? '';
    assert.match(firstBlock, /npm install && npm start/);
    assert.match(firstBlock, /npm test/);
  });

  it('has runnable TypeScript examples', () => assert.ok(blocks.length > 0));

  blocks.forEach((code, i) => {
    it(`example ${i + 1} runs`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'scaledot-readme-'));
      try {
        const file = join(dir, 'example.ts');
        writeFileSync(file, code.replace(/from 'scaledot(\/kernels|\/nn|\/lab)?'/g, (_, sub: string | undefined) => `from ${JSON.stringify(sourceOf(sub))}`));
        const out = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' });
        assert.ok(out.length > 0, 'the example prints what it shows');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
