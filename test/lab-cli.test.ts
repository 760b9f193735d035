import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareReportDir } from '../src/lab/report/write.js';
import { main } from '../src/cli/main.js';

const ROOT = new URL('..', import.meta.url).pathname;

function lab(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'lab', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same CLI in this process (fast, for the cases that stop before any work), output captured. */
async function labInProcess(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const status = await main(['lab', ...args]);
    return { status, stdout, stderr };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'scaledot-lab-test-'));
}

/** A stand-in for an earlier report, to see that failed runs leave it alone. */
function previousReport(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), '{"previous": true}\n');
  writeFileSync(join(dir, 'index.html'), '<p>previous</p>\n');
  return readFileSync(join(dir, 'results.json'), 'utf8');
}

describe('scaledot lab (CLI)', () => {
  it('writes the report, prints results.json with --json, and keeps stderr free of progress bars when not a terminal', () => {
    const out = join(scratch(), 'report');
    previousReport(out);
    const r = lab('--quick', '--only', 'c1,C6', '--seed', '42', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const printed = JSON.parse(r.stdout);
    assert.deepEqual(printed.claims.map((c: any) => c.id), ['C1', 'C6']);
    assert.equal(printed.seed, 42);
    assert.equal(printed.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    assert.deepEqual(readdirSync(out).sort(), ['C1-variance.csv', 'C6-classifier.csv', 'index.html', 'results.json']);
    assert.equal(readFileSync(join(out, 'results.json'), 'utf8'), r.stdout);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.ok(!/<script/i.test(html), 'no scripts');
    assert.ok(!/(src|href)="https?:/i.test(html), 'nothing fetched from the network');
    assert.ok((html.match(/<svg/g) ?? []).length >= 3, 'charts inline');
    assert.ok(html.includes(printed.claims[0].verdict));
    assert.ok(!r.stderr.includes('\r'), 'no progress bar on a pipe');
    assert.match(r.stderr, /C1 Dot products grow/); // the summary table moves to stderr under --json
  });

  it('prints the summary table (claim, measured, predicted, verdict) on stdout', () => {
    const out = join(scratch(), 'r');
    const r = lab('--quick', '--only', 'C6', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const [header, , line] = r.stdout.split('\n');
    assert.match(header, /claim\s+measured\s+predicted\s+tolerance\s+checks\s+verdict/);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.ok(line.startsWith('C6 '));
    assert.ok(line.trimEnd().endsWith(results.claims[0].verdict));
  });

  it('rejects an unknown option, --only C99, a bad seed and --quick with --full, leaving the previous report untouched', async () => {
    const out = join(scratch(), 'report');
    const before = previousReport(out);
    const cases: [string[], RegExp][] = [
      [['--bogus'], /unknown option '--bogus'/],
      [['--only', 'C2,C99'], /C99.*not an experiment/],
      [['--seed', 'abc'], /--seed/],
      [['--quick', '--full'], /contradict/],
    ];
    for (const [args, message] of cases) {
      const r = await labInProcess(...args, '--out', out);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
    assert.equal(readFileSync(join(out, 'results.json'), 'utf8'), before);
    assert.deepEqual(readdirSync(out).sort(), ['index.html', 'results.json']);
  });

  it('rejects an --out that is a file, cannot be created, or holds something other than a report', async () => {
    const dir = scratch();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'keep me');
    const other = join(dir, 'notes');
    mkdirSync(other);
    writeFileSync(join(other, 'mine.txt'), 'keep me too');
    for (const [out, message] of [[file, /is a file/], [join(file, 'sub'), /cannot write/], [other, /no earlier report/]] as const) {
      const r = await labInProcess('--quick', '--only', 'C1', '--out', out);
      assert.equal(r.status, 2, out);
      assert.match(r.stderr, message);
    }
    assert.equal(readFileSync(file, 'utf8'), 'keep me');
    assert.equal(readFileSync(join(other, 'mine.txt'), 'utf8'), 'keep me too');
    assert.deepEqual(readdirSync(dir).sort(), ['a-file', 'notes'], 'no temporary directories left behind');
  });
});

describe('report directory (atomic write)', () => {
  it('replaces a previous report whole', () => {
    const out = join(scratch(), 'report');
    previousReport(out);
    writeFileSync(join(out, 'C9-old.csv'), 'stale');
    const pending = prepareReportDir(out);
    pending.commit([{ name: 'results.json', content: '{"new": true}' }, { name: 'index.html', content: '<p>new</p>' }]);
    assert.deepEqual(readdirSync(out).sort(), ['index.html', 'results.json']);
    assert.equal(readFileSync(join(out, 'results.json'), 'utf8'), '{"new": true}');
  });

  it('a run that fails while writing leaves the previous report as it was, and no temporary files', () => {
    const parent = scratch();
    const out = join(parent, 'report');
    const before = previousReport(out);
    const pending = prepareReportDir(out);
    assert.throws(
      () => pending.commit([{ name: 'results.json', content: 'half' }, { name: '../escape', content: 'x' }]),
      { code: 'E_IO' },
    );
    assert.equal(readFileSync(join(out, 'results.json'), 'utf8'), before);
    assert.deepEqual(readdirSync(parent), ['report']);
    assert.ok(!existsSync(join(parent, 'escape')));
  });

  it('a run abandoned before writing (an experiment threw) leaves no trace', () => {
    const parent = scratch();
    const out = join(parent, 'report');
    const before = previousReport(out);
    prepareReportDir(out).abandon();
    assert.equal(readFileSync(join(out, 'results.json'), 'utf8'), before);
    assert.deepEqual(readdirSync(parent), ['report']);
  });
});
