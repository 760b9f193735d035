import os from 'node:os';
import { writeFileWhole } from '../node/output-file.js';
import { wasmAttentionInfo } from '../attention/index.js';
import { openBenchBrowser } from './browser.js';
import { BandwidthPool } from './bandwidth.js';
import { decodeBench, decodeTable, parseDecodeShape, type DecodeHost, type DecodeResult } from './decode.js';
import { loadPeer, peerVersion, type Ort } from './peers.js';
import { quiet } from './quiet.js';

/** The decode benchmark's host in Node: the peers' package, the bandwidth pool's workers, the CPU-time quiet wait. */
export function nodeDecodeHost(pool: BandwidthPool, threads: number): DecodeHost {
  return { ort: () => loadPeer<Ort>('onnxruntime-web'), bandwidth: pool, quiet, threads };
}

/** A checked `scaledot bench --decode` plan. */
export interface DecodeBenchOptions {
  shapes: string[];
  rounds: number;
  json: string;
  /** The Chromium to run the shapes in (--browser), or undefined for Node. */
  browser?: string;
}

/**
 * Runs the decode benchmark (decode.ts) on every shape in this process, one
 * bandwidth pool for all (a trial per round), and writes every figure with
 * the machine, the load and the peer's version to `json`, whole.
 */
export async function runDecodeBench(options: DecodeBenchOptions, progress: ((line: string) => void) | null): Promise<{ text: string; file: string }> {
  const results: DecodeResult[] = [];
  const load: number[][] = [];
  let environment = `Node ${process.version}, ${wasmAttentionInfo().path}`;
  let wasmPath: string = wasmAttentionInfo().path;
  if (options.browser !== undefined) {
    // Each shape in a freshly loaded page, the read ceiling on the page's Web Workers.
    const browser = await openBenchBrowser(options.browser);
    try {
      for (const [i, name] of options.shapes.entries()) {
        progress?.(`decode ${i + 1}/${options.shapes.length} in Chromium: ${name}`);
        load.push(os.loadavg());
        results.push(await browser.runDecode(name, options.rounds));
      }
    } finally {
      await browser.close();
    }
    wasmPath = results[0]?.rows.find((r) => r.name === 'scaledot')?.note.split(',')[0] ?? 'unknown';
    environment = `${browser.environment}, ${wasmPath}`;
  } else {
    const pool = new BandwidthPool();
    try {
      for (const [i, name] of options.shapes.entries()) {
        progress?.(`decode ${i + 1}/${options.shapes.length}: ${name}`);
        load.push(os.loadavg());
        results.push(await decodeBench(parseDecodeShape(name), options.rounds, nodeDecodeHost(pool, os.availableParallelism())));
      }
    } finally {
      await pool.close();
    }
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const info = wasmAttentionInfo();
  const header = `scaledot bench --decode${options.browser !== undefined ? ' --browser' : ''}: ${cpu}, ${os.cpus().length} cores, ${environment}; load average ${load.map((l) => l[0].toFixed(1)).join(', ')}; ${options.rounds} rounds, medians`;
  const record = {
    date: new Date().toISOString(),
    machine: { cpu, cores: os.cpus().length, memoryGiB: os.totalmem() / 1024 ** 3, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    environment, wasm: options.browser !== undefined ? { path: wasmPath } : { path: info.path, threads: info.threads },
    peers: { 'onnxruntime-web': peerVersion('onnxruntime-web') },
    rounds: options.rounds, loadAverage: load, results,
  };
  writeFileWhole(options.json, `${JSON.stringify(record, null, 2)}\n`, 'decode bench results', true);
  return { text: `${header}\n\n${decodeTable(results)}`, file: options.json };
}
