import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareReportDir } from '../src/lab/report/write.js';
import { runCli } from './helpers/cli.js';

const ROOT = new URL('..', import.meta.url).pathname;

function lab(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'lab', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same CLI in this process (fast, for the cases that stop before any work), output captured. */
async function labInProcess(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const r = await runCli(['lab', ...args]);
  return { status: r.code, stdout: r.out, stderr: r.err };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'scaledot-lab-test-'));
}

/** A stand-in for an earlier report (written by the lab's own writer), to see that failed runs leave it alone. */
function previousReport(dir: string): string {
  prepareReportDir(dir).commit([{ name: 'results.json', content: '{"previous": true}\n' }, { name: 'index.html', content: '<p>previous</p>\n' }]);
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
    assert.deepEqual(readdirSync(out).sort(), ['C1-variance.csv', 'C6-classifier.csv', 'index.html', 'results.json', 'scaledot-report.json']);
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
    assert.deepEqual(readdirSync(out).sort(), ['index.html', 'results.json', 'scaledot-report.json']);
  });

  it('rejects an --out that is empty, a file, or runs through a file, before any work', async () => {
    const dir = scratch();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'keep me');
    for (const [out, message] of [['', /--out is empty/], ['  ', /--out is empty/], [file, /is a file/], [join(file, 'sub'), /runs through .*a-file, which is a file/]] as const) {
      const r = await labInProcess('--quick', '--only', 'C1', '--out', out);
      assert.equal(r.status, 2, JSON.stringify(out));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
    assert.equal(readFileSync(file, 'utf8'), 'keep me');
    assert.deepEqual(readdirSync(dir), ['a-file'], 'nothing created');
  });

  it('refuses an --out that cannot be made before any work, where a recursive mkdir would loop forever (/proc)', { skip: !existsSync('/proc/self') && 'no /proc here' }, async () => {
    const r = await labInProcess('--quick', '--only', 'C1', '--out', '/proc/scaledot-no-such/report');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /lab: cannot create --out \/proc\/scaledot-no-such\/report: ENOENT/);
    assert.equal(r.stdout, '');
  });
});

/**
 * Resolves once process `pid` has used 4 s of CPU (utime + stime in
 * /proc/PID/stat, at the usual 100 ticks a second): tsx loaded, the command's
 * signal listeners installed and the experiments running. On a loaded machine
 * a fixed wall-clock wait sent the signal before tsx had even loaded, and
 * SigCgt cannot tell: tsx installs listeners of its own. Where there is no
 * /proc, it waits 6 s.
 */
async function listeningFor(pid: number): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 6000));
      return;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
    if (Number(fields[11]) + Number(fields[12]) >= 400) return; // utime, stime: the 14th and 15th
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`process ${pid} did not get going in 3 minutes`);
}

/** Every file and folder under `dir` (hidden ones too), each file with its bytes. */
function snapshot(dir: string): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = join(rel, entry.name);
      if (entry.isDirectory()) {
        seen.set(`${path}/`, '');
        walk(path);
      } else seen.set(path, readFileSync(join(dir, path), 'latin1'));
    }
  };
  walk('');
  return seen;
}

/** Asserts that everything in `before` is still there, byte for byte; returns the names that are new. */
function assertUserFilesKept(dir: string, before: Map<string, string>): string[] {
  const after = snapshot(dir);
  for (const [path, bytes] of before) {
    assert.ok(after.has(path), `${path} is gone`);
    assert.equal(after.get(path), bytes, `${path} changed`);
  }
  return [...after.keys()].filter((p) => !before.has(p)).sort();
}

/** A project folder as in the bug report: code, a README and a results.json redirected from `lab --json`. */
function projectFolder(withStrayResults: boolean): string {
  const proj = join(scratch(), 'proj');
  mkdirSync(join(proj, 'src'), { recursive: true });
  writeFileSync(join(proj, 'src', 'app.ts'), 'code\n');
  writeFileSync(join(proj, 'README.md'), 'hi\n');
  mkdirSync(join(proj, '.git'));
  writeFileSync(join(proj, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  if (withStrayResults) writeFileSync(join(proj, 'results.json'), '{"claims": [], "mine": true}\n');
  return proj;
}

const REPORT_FILES = ['C1-variance.csv', 'index.html', 'results.json', 'scaledot-report.json'];

/** `lab ARGS` in a child process whose working folder is `cwd` (tsx resolved from this repository). */
function labIn(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), 'lab', ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('lab --out never loses a user\'s files', () => {
  it('refuses `--out .` in a project folder that holds a results.json it did not write, changing nothing', () => {
    const proj = projectFolder(true);
    const before = snapshot(proj);
    const r = labIn(proj, '--quick', '--only', 'C1', '--out', '.');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /already holds results\.json \(not written by the lab\); refusing to overwrite/);
    assert.deepEqual(assertUserFilesKept(proj, before), [], 'nothing added');
  });

  it('writes into a project folder beside the user\'s files, adding only its own', () => {
    const proj = projectFolder(false);
    const before = snapshot(proj);
    const r = labIn(proj, '--quick', '--only', 'C1', '--out', '.');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(assertUserFilesKept(proj, before), REPORT_FILES);
    const manifest = JSON.parse(readFileSync(join(proj, 'scaledot-report.json'), 'utf8'));
    assert.deepEqual(manifest.files.map((f: { name: string }) => f.name).sort(), REPORT_FILES.filter((n) => n !== 'scaledot-report.json'));
  });

  it('updates a real earlier report, keeping the user\'s notes and sub-folder, removing only its own stale files', () => {
    const parent = scratch();
    const out = join(parent, 'report');
    assert.equal(labIn(parent, '--quick', '--only', 'C1,C6', '--seed', '1', '--out', 'report').status, 0);
    assert.ok(existsSync(join(out, 'C6-classifier.csv')));
    writeFileSync(join(out, 'my-notes.txt'), 'my notes\n');
    mkdirSync(join(out, 'photos'));
    writeFileSync(join(out, 'photos', 'cat.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01]));
    const userFiles = new Map([...snapshot(out)].filter(([p]) => p === 'my-notes.txt' || p.startsWith('photos')));
    const oldResults = readFileSync(join(out, 'results.json'), 'utf8');
    const r = labIn(parent, '--quick', '--only', 'C1', '--seed', '2', '--out', 'report');
    assert.equal(r.status, 0, r.stderr);
    assertUserFilesKept(out, userFiles);
    assert.deepEqual(readdirSync(out).sort(), ['C1-variance.csv', 'index.html', 'my-notes.txt', 'photos', 'results.json', 'scaledot-report.json']);
    assert.notEqual(readFileSync(join(out, 'results.json'), 'utf8'), oldResults);
    assert.equal(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).seed, 2);
    assert.deepEqual(readdirSync(parent), ['report'], 'no staging folder left behind');
  });

  it('refuses to overwrite a report file the user changed since the lab wrote it', () => {
    const parent = scratch();
    const out = join(parent, 'report');
    assert.equal(labIn(parent, '--quick', '--only', 'C1', '--out', 'report').status, 0);
    writeFileSync(join(out, 'index.html'), '<p>my edited report</p>\n');
    const before = snapshot(out);
    const r = labIn(parent, '--quick', '--only', 'C1', '--out', 'report');
    assert.equal(r.status, 2);
    // Said once, with its one reason (it used to add "which the lab did not write (or which changed since)").
    assert.match(r.stderr, /already holds index\.html \(changed since the lab wrote it\); refusing to overwrite/);
    assert.doesNotMatch(r.stderr, /did not write|not written/);
    assert.deepEqual(assertUserFilesKept(out, before), []);
  });

  it('refuses a folder whose scaledot-report.json is not the lab\'s manifest', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'scaledot-report.json'), '{"files": [{"name": "README.md", "sha256": "x"}]}');
    writeFileSync(join(dir, 'README.md'), 'mine');
    const before = snapshot(dir);
    assert.throws(() => prepareReportDir(dir, ['index.html']), { code: 'E_IO', message: /scaledot-report\.json that the lab did not write/ });
    assert.deepEqual(assertUserFilesKept(dir, before), []);
  });

  it('creates missing parents of --out, as mkdir -p does', () => {
    const parent = scratch();
    const r = labIn(parent, '--quick', '--only', 'C1', '--out', 'a/b/c');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(join(parent, 'a/b/c')).sort(), REPORT_FILES);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during a run exits 130 at once and leaves no temporary folder behind`, async () => {
      const parent = scratch();
      const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), 'lab', '--out', 'report'], { cwd: parent, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += String(chunk)));
      await listeningFor(child.pid as number); // tsx started and the lab running (a default run takes 20 s or more)
      const sent = Date.now();
      child.kill(signal);
      const [code, killedBy] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
      assert.deepEqual([code, killedBy], [130, null], `the README's status for an interrupted command, not death by the signal (143 for SIGTERM); stderr: ${stderr}`);
      assert.ok(Date.now() - sent < 5000, 'stopped mid-experiment, not after it');
      assert.match(stderr, /lab: interrupted; no report was written/);
      assert.deepEqual(readdirSync(parent), [], 'neither the report folder nor a hidden temporary one');
    });
  }

  it('removes stale debris an interrupted lab made, and nothing that merely looks like it', () => {
    const parent = scratch();
    const out = join(parent, 'report');
    const legacy = join(parent, '.report.tmp-Ab12Cd'); // what an older lab left when killed
    mkdirSync(legacy);
    writeFileSync(join(legacy, 'results.json'), '{}');
    writeFileSync(join(legacy, 'C1-variance.csv'), 'd\n');
    const lookalikes = ['.report.tmp-notes', '.report.tmp-Xy34Zw', '.report.tmp-Ab12Cd7', '.other.tmp-Ab12Cd'];
    for (const name of lookalikes) {
      mkdirSync(join(parent, name));
      writeFileSync(join(parent, name, name.endsWith('Zw') ? 'mine.txt' : 'results.json'), 'mine');
    }
    mkdirSync(out);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number; // a pid that has exited
    const stale = join(out, `.scaledot-staging-${dead}-Qw12Er`);
    mkdirSync(stale);
    writeFileSync(join(stale, 'index.html'), 'half');
    const live = join(out, `.scaledot-staging-${process.pid}-Qw12Er`); // a run still going: not stale
    mkdirSync(live);
    const before = snapshot(parent);
    prepareReportDir(out).commit([{ name: 'results.json', content: '{}' }]);
    assert.ok(!existsSync(legacy));
    assert.ok(!existsSync(stale));
    const kept = new Map([...before].filter(([p]) => !p.startsWith('.report.tmp-Ab12Cd/') && p !== '.report.tmp-Ab12Cd/' && !p.includes(`-${dead}-`)));
    assertUserFilesKept(parent, kept);
  });

  it('a commit that fails leaves the previous report and the folder as they were', () => {
    const parent = scratch();
    const out = join(parent, 'report');
    prepareReportDir(out).commit([{ name: 'results.json', content: '{"old": true}' }, { name: 'index.html', content: '<p>old</p>' }]);
    const before = snapshot(parent);
    assert.throws(() => prepareReportDir(out).commit([{ name: 'results.json', content: 'half' }, { name: '../escape', content: 'x' }]), { code: 'E_IO' });
    assert.deepEqual(assertUserFilesKept(parent, before), []);
  });
});
