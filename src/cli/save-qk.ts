import { captureQueryKey, type TrainResult } from '../nn/index.js';
import { safetensorsBytes } from '../inspect/index.js';
import { KEY_LENGTHS_TENSOR } from '../inspect/lengths.js';
import { outputFileProblem, writeFileWhole } from '../node/output-file.js';
import { ScaledotError } from '../tensor/index.js';

/**
 * train --save-qk FILE: checked before training (so a bad path fails before
 * minutes of work), written after it: every layer's q and k on the held-out
 * batch of the longest sequences (the most keys per query), layout bhld,
 * named layers.N.attn.q / layers.N.attn.k so that `scaledot inspect FILE`
 * pairs them. Returns the function that writes the file and says what it wrote.
 */
export function prepareSaveQk(path: string): (result: TrainResult) => string {
  const where = `train: --save-qk ${path}`;
  if (!path.endsWith('.safetensors')) throw new ScaledotError('E_OPTION', `${where}: expected a file name ending in .safetensors`);
  const problem = outputFileProblem(path);
  if (problem === 'is a folder') throw new ScaledotError('E_IO', `${where} is a directory; give a file`);
  if (problem !== null) throw new ScaledotError('E_IO', `${where}: its directory cannot be written: ${problem}`);
  return (result) => {
    const longest = result.task.validation.reduce((a, b) => (b.length > a.length ? b : a));
    const captured = captureQueryKey(result.model, longest);
    const tensors = captured.flatMap((c) => [
      { name: `layers.${c.layer}.attn.q`, shape: c.shape, data: c.q },
      { name: `layers.${c.layer}.attn.k`, shape: c.kShape, data: c.k },
    ]);
    // Names are padded to the longest: their lengths let inspect leave the padding's queries and keys out.
    const lengths = longest.lengths;
    if (lengths !== undefined) tensors.push({ name: KEY_LENGTHS_TENSOR, shape: [lengths.length], data: Float32Array.from(lengths) });
    const scale = captured[0].scale;
    const metadata = { producer: 'scaledot train', scaleRule: result.config.scaleRule, scale: String(scale), layout: 'bhld', causal: 'true' };
    writeFileWhole(path, safetensorsBytes(tensors, metadata), 'train: --save-qk');
    const rule = result.config.scaleRule;
    // What the file cannot hold: the cap is applied after q·k, and a sink logit (0, or learnt per head) joins the softmax beside the keys.
    const cap = rule === 'softcap' ? ', then capped at 50 (see whatIf.softcap50)'
      : rule === 'softmax1' || rule === 'sink' ? `, and its softmax has a sink logit (${rule === 'softmax1' ? '0' : 'learnt per head'}) that the file does not hold, so inspect's weights are the keys' share renormalised`
        : '';
    const kept = lengths === undefined ? '' : `, with each sequence's length (${KEY_LENGTHS_TENSOR}: inspect leaves the padding out)`;
    // maxretrieval's last layer queries from the last position only: its Q is [B, H, 1, D] against K's [B, H, S, D].
    const shapeOf = (c: (typeof captured)[number]): string => (c.kShape.join() === c.shape.join() ? `shape [${c.shape.join(',')}]` : `Q [${c.shape.join(',')}], K [${c.kShape.join(',')}]`);
    const shapes = [...new Set(captured.map(shapeOf))];
    const shapeText = shapes.length === 1 ? shapes[0] : captured.map((c) => `layer ${c.layer} ${shapeOf(c)}`).join(', ');
    return `Q and K of ${captured.length} layer(s) on a held-out batch, ${shapeText} (bhld)${kept}, written to ${path}; ` +
      `the model scales q·k by ${scale}${cap}: scaledot inspect ${path} --causal --scale ${scale}\n`;
  };
}
