import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The house, drawn from the imports (DESIGN.md, "Layout"): a folder of src/ is
// a layer, and imports point only down this list, never round a circle:
//   tensor ← softmax ← attention ← nn, node ← lab / inspect / bench ← cli
// The entry files src/index.ts and src/kernels.ts sit just above attention.
// Folders of one rank (lab, inspect, bench) may use each other (inspect draws
// with the lab's charts), but the folders too form no circle.
// Outside src/attention nothing reaches into it by path: its index is its face.

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const src = join(repoRoot, 'src');
const RANK: Record<string, number> = {
  tensor: 0, softmax: 1, attention: 2, '(entry)': 2.5, nn: 3, node: 3, lab: 4, inspect: 4, bench: 4, cli: 5,
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules') return []; // tools/bench/peers installs other packages' sources
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files a module imports (static, re-export and dynamic imports with a literal path), resolved. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s*'([^']+)'/g)]
    .map((m) => m[1] ?? m[2] ?? m[3]).filter((s) => s.startsWith('.'));
  return specs.map((s) => {
    const path = resolve(dirname(file), s).replace(/\.js$/, '.ts');
    assert.ok(existsSync(path), `${relative(repoRoot, file)} imports ${s}, which is not a file`);
    return path;
  });
}

/** The layer of a file: its first folder under src/, or '(entry)' for a file at src/ itself. */
function layerOf(file: string): string {
  const rel = relative(src, file).split(/[\\/]/);
  return rel.length === 1 ? '(entry)' : rel[0];
}

const graph = new Map(tsFiles(src).map((f) => [f, importsOf(f)]));
const show = (f: string) => relative(repoRoot, f);

describe('the import graph of src/', () => {
  it('has a rank for every folder', () => {
    const unknown = [...graph.keys()].map(layerOf).filter((l) => !(l in RANK));
    assert.deepEqual([...new Set(unknown)], [], 'a folder of src/ missing from the layer list (DESIGN.md)');
  });

  it('imports only down the layer list (or within a rank)', () => {
    const upward: string[] = [];
    for (const [file, deps] of graph) {
      for (const dep of deps) {
        const [from, to] = [layerOf(file), layerOf(dep)];
        if (RANK[to] > RANK[from]) upward.push(`${show(file)} (${from}) → ${show(dep)} (${to})`);
      }
    }
    assert.deepEqual(upward, []);
  });

  it('has no circle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].map(show).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    assert.deepEqual(circles, []);
  });

  it('has no circle between folders', () => {
    const folders = new Map<string, Set<string>>();
    for (const [file, deps] of graph) {
      const from = layerOf(file);
      for (const dep of deps) if (layerOf(dep) !== from) folders.set(from, (folders.get(from) ?? new Set()).add(layerOf(dep)));
    }
    const reaches = (a: string, b: string, seen = new Set<string>()): boolean =>
      [...(folders.get(a) ?? [])].some((n) => n === b || (!seen.has(n) && (seen.add(n), reaches(n, b, seen))));
    const circles = [...folders.keys()].filter((f) => reaches(f, f));
    assert.deepEqual(circles, [], 'folders that reach themselves through imports');
  });

  it('reaches into src/attention only through its index, from src/, web/ and tools/', () => {
    const face = join(src, 'attention', 'index.ts');
    const inside = join(src, 'attention');
    const outside = [...tsFiles(src).filter((f) => !f.startsWith(inside + '/')), ...tsFiles(join(repoRoot, 'web', 'src')), ...tsFiles(join(repoRoot, 'tools', 'bench'))];
    const deep = outside.flatMap((f) => importsOf(f).filter((d) => d.startsWith(inside + '/') && d !== face).map((d) => `${show(f)} → ${show(d)}`));
    assert.deepEqual(deep, []);
  });
});
