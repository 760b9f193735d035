import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { safetensorsFile, writeSafetensors, numpySkip, python, type SpecTensor } from './helpers/tensor-files.js';
import { runCli, type CliRun } from './helpers/cli.js';

/** Runs the CLI in-process, capturing the text it writes. */
const run = (args: string[]): Promise<CliRun> => runCli(args);

/** A child process running the CLI from source; it reports its own peak RSS (KiB) on its last stderr line. */
async function spawnMeasured(args: string[]): Promise<{ code: number | null; err: string; maxRssKiB: number }> {
  const script = `import { main } from './src/cli/main.ts';
const code = await main(${JSON.stringify(args)});
process.stderr.write('\\nmaxRSS ' + process.resourceUsage().maxRSS + '\\n');
process.exitCode = code;`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err += String(c)));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, err, maxRssKiB: Number(/maxRSS (\d+)/.exec(err)?.[1] ?? NaN) };
}

const values = (n: number, seed: number, std: number): number[] => {
  // A small deterministic spread of signs and sizes; exactness does not matter here.
  return Array.from({ length: n }, (_, i) => std * Math.sin(1 + i * 1.7 + seed * 3.1));
};

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'scaledot-inspect-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function model(name: string, spec: { qStd?: number; qShape?: number[]; kShape?: number[]; qValues?: number[]; dtype?: string } = {}): string {
  const qShape = spec.qShape ?? [1, 2, 6, 8];
  const kShape = spec.kShape ?? [1, 2, 6, 8];
  const n = (s: number[]): number => s.reduce((a, b) => a * b, 1);
  const tensors: SpecTensor[] = [
    { name: 'layers.0.attn.q', dtype: spec.dtype ?? 'F32', shape: qShape, values: spec.qValues ?? values(n(qShape), 1, spec.qStd ?? 1) },
    { name: 'layers.0.attn.k', dtype: 'F32', shape: kShape, values: values(n(kShape), 2, 1) },
    { name: 'layers.1.attn.q', dtype: 'F32', shape: [1, 2, 6, 8], values: values(96, 3, 1) },
    { name: 'layers.1.attn.k', dtype: 'F32', shape: [1, 2, 6, 8], values: values(96, 4, 1) },
  ];
  const path = join(dir, name);
  writeSafetensors(path, tensors);
  return path;
}

describe('scaledot inspect', () => {
  it('prints a table per layer, and writes --json whose fields are the contract', async () => {
    const path = model('a.safetensors', { qStd: 8 });
    const table = await run(['inspect', path, '--causal']);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /layers\.0\.attn .*\n.*logitStd/);
    assert.match(table.out, /layers\.0\.attn head \d is saturated/);
    assert.equal(table.err, '', 'no progress when stderr is not a terminal');

    const json = join(dir, 'a.json');
    const r = await run(['inspect', path, '--causal', '--json', json]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(Object.keys(doc).sort(), ['causal', 'findings', 'heads', 'inputs', 'layout', 'scale', 'tool', 'version'].sort());
    assert.equal(doc.scale, 1 / Math.sqrt(8));
    assert.equal(doc.heads.length, 4);
    const head = doc.heads[0];
    assert.deepEqual(Object.keys(head), ['layer', 'head', 'queries', 'keys', 'headDim', 'logitStd', 'logitMax', 'entropyRatioMean', 'maxProbMean', 'saturatedShare', 'jacobianNormMedian', 'firstKeyMass', 'topKey', 'fp16', 'whatIf'].sort((a, b) => Object.keys(head).indexOf(a) - Object.keys(head).indexOf(b)));
    for (const key of ['layer', 'head', 'queries', 'keys', 'headDim', 'logitStd', 'logitMax', 'entropyRatioMean', 'maxProbMean', 'saturatedShare', 'jacobianNormMedian', 'firstKeyMass']) assert.ok(key in head, key);
    assert.deepEqual(Object.keys(head.fp16).sort(), ['overflowShare', 'scoreMaxAbs']);
    assert.deepEqual(Object.keys(head.whatIf).sort(), ['inverse', 'qkNorm', 'rsqrt', 'softcap50']);
    for (const w of Object.values(head.whatIf) as object[]) assert.deepEqual(Object.keys(w).sort(), ['entropyRatioMean', 'logitStd', 'maxProbMean', 'saturatedShare']);
    assert.ok(doc.findings.some((f: { kind: string; figures: object }) => f.kind === 'saturated' && Object.keys(f.figures).length > 0));
  });

  it('reports a head with NaN as a finding and leaves it out of heads; the others as usual', async () => {
    const qValues = values(96, 1, 1);
    qValues[6 * 8 + 3] = NaN; // head 1 of layer 0
    const path = model('nan.safetensors', { qValues });
    const json = join(dir, 'nan.json');
    assert.equal((await run(['inspect', path, '--json', json])).code, 0);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(doc.heads.map((h: { layer: string; head: number }) => `${h.layer}/${h.head}`), ['layers.0.attn/0', 'layers.1.attn/0', 'layers.1.attn/1']);
    const f = doc.findings.find((x: { kind: string }) => x.kind === 'non-finite');
    assert.equal(`${f.layer}/${f.head}`, 'layers.0.attn/1');
    assert.match(f.text, /layers\.0\.attn head 1: 1 NaN\/Infinity/);
  });

  it('--out writes its report and CSVs, replaces its own files, and refuses to replace anyone else\'s', async () => {
    const path = model('b.safetensors');
    const out = join(dir, 'report');
    assert.equal((await run(['inspect', path, '--out', out])).code, 0);
    assert.deepEqual(readdirSync(out).sort(), ['inspect-findings.csv', 'inspect-heads.csv', 'inspect.html', 'scaledot-inspect.json']);
    const html = readFileSync(join(out, 'inspect.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /<h3>layers\.1\.attn<\/h3>/);
    assert.match(readFileSync(join(out, 'inspect-heads.csv'), 'utf8').split('\n')[0], /^layer,head,queries,keys,headDim,logitStd,.*whatIf\.softcap50\.saturatedShare$/);
    assert.equal((await run(['inspect', path, '--out', out])).code, 0, 'a second run replaces its own files');

    const theirs = join(dir, 'theirs');
    assert.equal((await run(['inspect', path, '--out', theirs])).code, 0);
    writeFileSync(join(theirs, 'inspect-heads.csv'), 'my,own\n1,2\n');
    const r = await run(['inspect', path, '--out', theirs]);
    assert.equal(r.code, 2);
    assert.match(r.err, /inspect-heads\.csv \(changed since scaledot inspect wrote it\)/);
    assert.equal(readFileSync(join(theirs, 'inspect-heads.csv'), 'utf8'), 'my,own\n1,2\n');
  });

  it('--out refuses a report file edited since it wrote it, even one that keeps its marker, as the lab does', async () => {
    const path = model('b.safetensors');
    const out = join(dir, 'edited');
    assert.equal((await run(['inspect', path, '--out', out])).code, 0);
    const page = join(out, 'inspect.html');
    const edited = readFileSync(page, 'utf8').replace('</body>', '<p>my notes</p></body>');
    writeFileSync(page, edited);
    const r = await run(['inspect', path, '--out', out]);
    assert.equal(r.code, 2);
    assert.match(r.err, /inspect\.html \(changed since scaledot inspect wrote it\)/);
    assert.equal(readFileSync(page, 'utf8'), edited);
  });

  it('refuses bad input with a code and a message naming file and tensor, no stack, no output file', async () => {
    const good = model('good.safetensors');
    const bytes = readFileSync(good);
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 10));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)))));
    header['layers.1.attn.k'].data_offsets = [0, 10_000];
    const pastEnd = join(dir, 'past-end.safetensors');
    const json = new TextEncoder().encode(JSON.stringify(header));
    const withHeader = new Uint8Array(8 + json.length + 2000);
    new DataView(withHeader.buffer).setBigUint64(0, BigInt(json.length), true);
    withHeader.set(json, 8);
    writeFileSync(pastEnd, withHeader);
    const i8 = join(dir, 'i8.safetensors');
    writeFileSync(i8, safetensorsFile([{ name: 'x.q', dtype: 'I8', shape: [1, 1, 2, 2], values: [1, 2, 3, 4] }, { name: 'x.k', dtype: 'F32', shape: [1, 1, 2, 2], values: [1, 2, 3, 4] }]));
    const cases: [string[], RegExp][] = [
      [[truncated], /truncated\.safetensors: tensor layers\.1\.attn\.k: data_offsets .* run past the end/],
      [[pastEnd], /past-end\.safetensors: tensor layers\.1\.attn\.k: data_offsets \[0, 10000\] run past the end/],
      [[i8], /i8\.safetensors: tensor x\.q \(Q\) has dtype I8; expected a float/],
      [[model('unpaired.safetensors', { kShape: [1, 2, 6, 4] })], /layer layers\.0\.attn: .*layers\.0\.attn\.q \(Q\) is .*headDim 8.*layers\.0\.attn\.k \(K\) is .*headDim 4.*head dims must match/],
      [[model('gqa.safetensors', { qShape: [1, 3, 6, 8] })], /K's heads must divide Q's/],
      [[model('rank3.safetensors', { qShape: [1, 6, 16] })], /layers\.0\.attn\.q \(Q\) has shape \[1,6,16\]: rank 3 .* needs --heads/],
      [[model('causal.safetensors', { qShape: [1, 2, 8, 8] }), '--causal'], /L = 8 > S = 6/],
      [[good, '--layout', 'bhdl'], /--layout is "bhdl"/],
      [[good, '--q', 'layers.0.attn.q'], /--q and --k go together/],
      [[good, '--q', 'nope', '--k', 'layers.0.attn.k'], /--q nope: no tensor of that name in .*good\.safetensors/],
      [[join(dir, 'missing.npz')], /missing\.npz does not exist/],
    ];
    for (const [args, pattern] of cases) {
      const out = join(dir, 'never.json');
      const r = await run(['inspect', ...args, '--json', out]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, pattern);
      assert.match(r.err, /^scaledot: inspect: .*\(E_[A-Z]+\)\n$/);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
      assert.equal(existsSync(out), false, `${args.join(' ')} left ${out}`);
    }
  });

  it('says what is wrong where the message used to mislead (issue 18, item 13)', async () => {
    // A .npy by hand: magic, version 1.0, a u16 header length, the dict padded to 64 bytes, then the data.
    const npy = (name: string, shape: number[]): string => {
      let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
      dict = dict.padEnd(128 - 10 - 1, ' ') + '\n';
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = new Uint8Array(10 + dict.length + 4 * n);
      bytes.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, dict.length, 0]);
      bytes.set(new TextEncoder().encode(dict), 10);
      new Float32Array(bytes.buffer, 10 + dict.length, n).set(values(n, 1, 1));
      const path = join(dir, name);
      writeFileSync(path, bytes);
      return path;
    };
    const q = npy('q.npy', [1, 1, 4, 4]), k = npy('k.npy', [1, 1, 4, 4]);
    const lying = join(dir, 'lying.npz');
    writeFileSync(lying, readFileSync(q));
    const header = (entries: Record<string, unknown>, claimed?: bigint, data = 64): string => {
      const json = new TextEncoder().encode(JSON.stringify(entries));
      const bytes = new Uint8Array(8 + json.length + data);
      new DataView(bytes.buffer).setBigUint64(0, claimed ?? BigInt(json.length), true);
      bytes.set(json, 8);
      const path = join(dir, `h${Object.keys(entries).join('-')}${claimed ?? ''}.safetensors`);
      writeFileSync(path, bytes);
      return path;
    };
    const f32 = (begin: number, end: number) => ({ dtype: 'F32', shape: [1, 1, 1, (end - begin) / 4], data_offsets: [begin, end] });
    const cases: [string[], RegExp][] = [
      [[q, k], /q\.npy and .*k\.npy are \.npy files, each holding one tensor; give a query and a key as --q .*q\.npy --k .*k\.npy/],
      [[header({ 'x.q': f32(0, 16), 'x.k': f32(16, 32), 'x_q': f32(32, 48), 'x_k': f32(48, 64) })], /pairs two Q\/K sets as layer x \(x\.q\/x\.k and x_q\/x_k\); name one with --q NAME --k NAME/],
      [[header({ 'a.q': f32(0, 16), 'a.k': f32(16, 32), 'b.k': f32(32, 48) })], /tensor b\.k is a key by its name but no query pairs with it \(looked for b\.q, b\.query, b\.q_proj\)/],
      [[header({ 'x.q': f32(0, 16), 'x.k': { dtype: 'F32', shape: [1, 1, 1, 0], data_offsets: [100, 50] } })], /data_offsets \[100, 50\] end before they begin/],
      [[header({ 'x.q': f32(0, 16) }, 2n ** 63n)], /the safetensors header claims 9223372036854775808 bytes/],
      [[lying], /lying\.npz is named \.npz but its first bytes say it is a \.npy/],
      [['--q', q, '--k', k, '--scale', '1e400'], /--scale is past float64's range/],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(['inspect', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, pattern);
    }
  });

  it('refuses truncated .npy and .npz files NumPy wrote', { skip: numpySkip }, async () => {
    python(`q = np.ones((1, 1, 4, 4), np.float32)
np.save('q.npy', q); np.save('k.npy', q)
np.savez_compressed('m.npz', q=q, k=q)
open('qcut.npy', 'wb').write(open('q.npy', 'rb').read()[:-8])
open('mcut.npz', 'wb').write(open('m.npz', 'rb').read()[:-30])`, dir);
    const npy = await run(['inspect', '--q', join(dir, 'qcut.npy'), '--k', join(dir, 'k.npy')]);
    assert.equal(npy.code, 2);
    assert.match(npy.err, /qcut\.npy: shape \(1, 1, 4, 4\) of <f4 needs 64 bytes but only 56 follow the header; the file is truncated \(E_IO\)/);
    const npz = await run(['inspect', join(dir, 'mcut.npz')]);
    assert.equal(npz.code, 2);
    assert.match(npz.err, /mcut\.npz: cannot read it as a zip \(\.npz\)/);
  });

  it('inspects a 600 MB checkpoint whose Q and K are small in well under 300 MB of RSS', async () => {
    // A large unrelated tensor first, then Q and K: the file is sparse (ftruncate), so it costs no disk, but a reader that read it whole would hold 600 MB.
    const big = 150_000_000; // float32 values: 600 MB
    const q = values(2 * 4 * 64 * 32, 1, 1);
    const k = values(2 * 4 * 64 * 32, 2, 1);
    const head = safetensorsFile([
      { name: 'embed.weight', dtype: 'F32', shape: [big], values: [] },
      { name: 'layers.0.attn.q', dtype: 'F32', shape: [2, 4, 64, 32], values: q },
      { name: 'layers.0.attn.k', dtype: 'F32', shape: [2, 4, 64, 32], values: k },
    ]);
    // safetensorsFile laid out no bytes for the empty spec of embed.weight; rewrite the header with its real size, data after it.
    const headerLength = Number(new DataView(head.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(head.subarray(8, 8 + headerLength)));
    const qkBytes = q.length * 4;
    header['embed.weight'].data_offsets = [0, big * 4];
    header['layers.0.attn.q'].data_offsets = [big * 4, big * 4 + qkBytes];
    header['layers.0.attn.k'].data_offsets = [big * 4 + qkBytes, big * 4 + 2 * qkBytes];
    const json = new TextEncoder().encode(JSON.stringify(header));
    const path = join(dir, 'big.safetensors');
    const fd = openSync(path, 'w');
    try {
      const length = new Uint8Array(8);
      new DataView(length.buffer).setBigUint64(0, BigInt(json.length), true);
      writeSync(fd, length, 0, 8, 0);
      writeSync(fd, json, 0, json.length, 8);
      const dataStart = 8 + json.length;
      writeSync(fd, new Uint8Array(new Float32Array(q).buffer), 0, qkBytes, dataStart + big * 4);
      writeSync(fd, new Uint8Array(new Float32Array(k).buffer), 0, qkBytes, dataStart + big * 4 + qkBytes);
    } finally {
      closeSync(fd);
    }
    assert.ok(statSync(path).size > 600_000_000);
    const r = await spawnMeasured(['inspect', path, '--causal', '--json', join(dir, 'big.json')]);
    try {
      assert.equal(r.code, 0, r.err);
      const mb = r.maxRssKiB / 1024;
      console.log(`# inspect of a ${Math.round(statSync(path).size / 1e6)} MB checkpoint: peak RSS ${mb.toFixed(0)} MiB`);
      assert.ok(mb < 300, `peak RSS ${mb.toFixed(0)} MiB`);
      assert.equal(JSON.parse(readFileSync(join(dir, 'big.json'), 'utf8')).heads.length, 4);
    } finally {
      rmSync(path);
    }
  });
});

describe('scaledot inspect never writes over a file it reads', () => {
  it('refuses --json or --out naming an input (directly, through a link, or a hard link), leaving every input byte for byte', async () => {
    const path = model('victim.safetensors');
    const before = readFileSync(path);
    symlinkSync(path, join(dir, 'victim-link.json'));
    linkSync(path, join(dir, 'victim-hard.json'));
    const folder = join(dir, 'own-report');
    mkdirSync(folder);
    const planted = join(folder, 'inspect.html');
    writeFileSync(planted, before);
    const npyQ = join(dir, 'victim-q.npy');
    writeFileSync(npyQ, 'not read: the check comes first');
    for (const [args, message] of [
      [[path, '--json', path], /--json .*victim\.safetensors is the input file/],
      [[path, '--json', join(dir, '.', 'victim.safetensors')], /is the input file/],
      [[path, '--json', join(dir, 'victim-link.json')], /is the input file/],
      [[path, '--json', join(dir, 'victim-hard.json')], /is the input file/],
      [[planted, '--out', folder], /--out .*inspect\.html is the input file/],
      [['--q', npyQ, '--k', path, '--json', npyQ], /--json .* is the input --q/],
      [[path, '--json', join(dir, 'r', 'inspect-heads.csv'), '--out', join(dir, 'r')], /are the same file/],
    ] as const) {
      const r = await run(['inspect', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
      assert.match(r.err, /E_IO/);
    }
    assert.deepEqual(readFileSync(path), before, 'the model is unchanged');
    assert.deepEqual(readFileSync(planted), before);
    assert.equal(readFileSync(npyQ, 'utf8'), 'not read: the check comes first');
    assert.ok(!existsSync(join(dir, 'r')), 'nothing created for a refused run');
  });

  it('a folder given as an input file, or an --out that cannot be made (/proc), exits 2 with a message instead of a crash or a hang', async () => {
    const folder = join(dir, 'a-folder.npz');
    mkdirSync(folder);
    const r = await run(['inspect', folder]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /a-folder\.npz is a folder; give a \.safetensors, \.npz or \.npy file/);
    if (existsSync('/proc/self')) {
      const out = await run(['inspect', model('p.safetensors'), '--out', '/proc/scaledot-no-such/report']);
      assert.equal(out.code, 2, out.err);
      assert.match(out.err, /cannot create --out \/proc\/scaledot-no-such\/report: ENOENT/);
    }
  });
});
