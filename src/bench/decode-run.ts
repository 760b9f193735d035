import os from 'node:os';
import { writeFileWhole } from '../node/output-file.js';
import { wasmAttentionInfo } from '../attention/index.js';
import { BandwidthPool } from './bandwidth.js';
import { decodeBench, decodeTable, type DecodeResult } from './decode.js';
import { parseDecodeShape } from './decode.js';
import { peerVersion } from './peers.js';

/** A checked `scaledot bench --decode` plan. */
export interface DecodeBenchOptions {
  shapes: string[];
  rounds: number;
  json: string;
}

/**
 * Runs the decode benchmark (decode.ts) on every shape in this process, one
 * bandwidth pool for all (a trial per round), and writes every figure with
 * the machine, the load and the peer's version to `json`, whole.
 */
export async function runDecodeBench(options: DecodeBenchOptions, progress: ((line: string) => void) | null): Promise<{ text: string; file: string }> {
  const pool = new BandwidthPool();
  const results: DecodeResult[] = [];
  const load: number[][] = [];
  try {
    for (const [i, name] of options.shapes.entries()) {
      progress?.(`decode ${i + 1}/${options.shapes.length}: ${name}`);
      load.push(os.loadavg());
      results.push(await decodeBench(parseDecodeShape(name), options.rounds, pool, os.availableParallelism()));
    }
  } finally {
    await pool.close();
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const info = wasmAttentionInfo();
  const header = `scaledot bench --decode: ${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${info.path}; load average ${load.map((l) => l[0].toFixed(1)).join(', ')}; ${options.rounds} rounds, medians`;
  const record = {
    date: new Date().toISOString(),
    machine: { cpu, cores: os.cpus().length, memoryGiB: os.totalmem() / 1024 ** 3, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    wasm: { path: info.path, threads: info.threads },
    peers: { 'onnxruntime-web': peerVersion('onnxruntime-web') },
    rounds: options.rounds, loadAverage: load, results,
  };
  writeFileWhole(options.json, `${JSON.stringify(record, null, 2)}\n`, 'decode bench results', true);
  return { text: `${header}\n\n${decodeTable(results)}`, file: options.json };
}
