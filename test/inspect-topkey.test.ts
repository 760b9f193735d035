import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { npyBytes } from './helpers/onnx-graph.js';

/*
 * The key taking the most mean weight (topKey) is in every table a person
 * reads, not only the JSON: a constructed head whose sink is key 3, not key 0.
 * The expected position and mass are computed here from q and k.
 */

const L = 5;
const S = 6;
const D = 4;
// Every query points along axis 0; key 3 lies far along it, so every row puts most of its weight there.
const along = [0.2, -0.1, 0.3, 4, 0, 0.1];
const q = Array.from({ length: L * D }, (_, at) => (at % D === 0 ? 1 + 0.1 * Math.floor(at / D) : 0.05 * (at % D)));
const k = Array.from({ length: S * D }, (_, at) => (at % D === 0 ? along[Math.floor(at / D)] : -0.02 * (at % D)));

function expectedTopKey(): { position: number; mass: number } {
  const scale = 1 / Math.sqrt(D);
  const mass = new Array(S).fill(0);
  for (let i = 0; i < L; i++) {
    const logits = Array.from({ length: S }, (_, j) => scale * Array.from({ length: D }, (_, e) => q[i * D + e] * k[j * D + e]).reduce((a, b) => a + b, 0));
    const max = Math.max(...logits);
    const total = logits.reduce((s, l) => s + Math.exp(l - max), 0);
    logits.forEach((l, j) => (mass[j] += Math.exp(l - max) / total / L));
  }
  const position = mass.indexOf(Math.max(...mass));
  return { position, mass: mass[position] };
}

let dir = '';
const paths = { q: '', k: '' };
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaledot-topkey-'));
  paths.q = join(dir, 'q.npy');
  paths.k = join(dir, 'k.npy');
  writeFileSync(paths.q, npyBytes(q, [1, 1, L, D], '<f8'));
  writeFileSync(paths.k, npyBytes(k, [1, 1, S, D], '<f8'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('inspect: topKey in the text table, the CSV and the HTML table', () => {
  const want = expectedTopKey();
  it('the constructed sink is not key 0', () => {
    assert.equal(want.position, 3);
    assert.ok(want.mass > 0.5);
  });
  it('the text table shows its position and mass', async () => {
    const r = await runCli(['inspect', '--q', paths.q, '--k', paths.k]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    const header = lines.find((l) => l.trimStart().startsWith('head'))!;
    const row = lines[lines.indexOf(header) + 1];
    // Columns are right-aligned under their names: a value ends where its name ends.
    const under = (name: string): string => {
      const end = header.indexOf(name) + name.length;
      assert.ok(end > name.length, `column ${name} in ${header}`);
      return row.slice(0, end).split(/\s+/).at(-1)!;
    };
    assert.equal(under('top key'), String(want.position));
    assert.ok(Math.abs(Number(under('top mass')) - want.mass) < 1e-4, `${under('top mass')} vs ${want.mass}`);
  });
  it('the heads CSV and the HTML table show it', async () => {
    const out = join(dir, 'report');
    const r = await runCli(['inspect', '--q', paths.q, '--k', paths.k, '--out', out]);
    assert.equal(r.code, 0, r.err);
    const [head, first] = readFileSync(join(out, 'inspect-heads.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    assert.equal(first[head.indexOf('topKey.position')], String(want.position));
    assert.ok(Math.abs(Number(first[head.indexOf('topKey.mass')]) - want.mass) < 1e-12);
    const page = readFileSync(join(out, 'inspect.html'), 'utf8');
    const table = page.slice(page.indexOf('<thead>'));
    const names = [...table.slice(0, table.indexOf('</thead>')).matchAll(/<th[^>]*>(.*?)<\/th>/g)].map((m) => m[1].replace(/<[^>]*>/g, ''));
    const cells = [...table.slice(table.indexOf('<tbody>'), table.indexOf('</tr>', table.indexOf('<tbody>'))).matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
    assert.equal(cells[names.indexOf('topKey')], String(want.position));
    assert.ok(Math.abs(Number(cells[names.indexOf('topKey mass')]) - want.mass) < 1e-4);
  });
});
