import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as root from '../src/index.js';
import * as kernels from '../src/kernels.js';
import * as nn from '../src/nn/index.js';
import * as lab from '../src/lab/index.js';

// The API reference (npm run docs) is made from doc comments, so every
// function and class an entry point exports must have one: a /** … */ block
// right above its declaration. The declaration is found by following the
// entry point's `export … from` statements, as the module system does.

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const ENTRY_POINTS = [
  ['scaledot', 'src/index.ts', root],
  ['scaledot/kernels', 'src/kernels.ts', kernels],
  ['scaledot/nn', 'src/nn/index.ts', nn],
  ['scaledot/lab', 'src/lab/index.ts', lab],
] as const;

const escape = (s: string): string => s.replace(/[$]/g, '\\$');

/** The file a relative './x.js' specifier of `from` names. */
function target(from: string, specifier: string): string {
  return join(dirname(from), specifier.replace(/\.js$/, '.ts'));
}

/** Where `name` is declared, following re-exports from `file`; null if nowhere. */
function declarationOf(file: string, name: string, seen = new Set<string>()): { file: string; at: number } | null {
  const key = `${file}#${name}`;
  if (seen.has(key) || !existsSync(file)) return null;
  seen.add(key);
  const text = readFileSync(file, 'utf8');
  const declared = new RegExp(`^export (?:declare )?(?:async )?(?:abstract )?(?:function\\*?|class|const|let) ${escape(name)}\\b`, 'm').exec(text);
  if (declared) return { file, at: declared.index };
  for (const m of text.matchAll(/^export (type )?\{([^}]*)\} from '([^']+)'/gm)) {
    if (m[1]) continue;
    for (const spec of m[2].split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('type '))) {
      const [original, alias] = spec.split(/\s+as\s+/);
      if ((alias ?? original) === name) return declarationOf(target(file, m[3]), original, seen);
    }
  }
  for (const m of text.matchAll(/^export \* from '([^']+)'/gm)) {
    const found = declarationOf(target(file, m[1]), name, seen);
    if (found) return found;
  }
  return null;
}

/** Whether a /** doc comment ends right above position `at` (whitespace between is fine). */
function hasDocComment(file: string, at: number): boolean {
  const before = readFileSync(file, 'utf8').slice(0, at).trimEnd();
  if (!before.endsWith('*/')) return false;
  const start = before.lastIndexOf('/*');
  return before.startsWith('/**', start);
}

describe('doc comments', () => {
  for (const [entry, file, module] of ENTRY_POINTS) {
    it(`every function and class ${entry} exports has a doc comment`, () => {
      const missing: string[] = [];
      for (const [name, value] of Object.entries(module)) {
        if (typeof value !== 'function') continue;
        const found = declarationOf(join(repoRoot, file), name);
        if (found === null) missing.push(`${name} (declaration not found)`);
        else if (!hasDocComment(found.file, found.at)) missing.push(`${name} (${relative(repoRoot, found.file)})`);
      }
      assert.deepEqual(missing, [], `exported without a doc comment: ${missing.join(', ')}`);
    });
  }

  it('finds a missing doc comment (the check can fail)', () => {
    // scaledDotProductAttention is declared with one; the line above a `function` keyword inside it is code.
    const file = join(repoRoot, 'src/attention/index.ts');
    const found = declarationOf(join(repoRoot, 'src/index.ts'), 'scaledDotProductAttention');
    assert.ok(found !== null && found.file === file && hasDocComment(file, found.at));
    const text = readFileSync(file, 'utf8');
    assert.equal(hasDocComment(file, text.indexOf('function forward(')), false);
  });
});
