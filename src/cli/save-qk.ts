import { captureQueryKey, type TrainResult } from '../nn/index.js';
import { safetensorsBytes } from '../inspect/index.js';
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
      { name: `layers.${c.layer}.attn.k`, shape: c.shape, data: c.k },
    ]);
    const scale = captured[0].scale;
    const metadata = { producer: 'scaledot train', scaleRule: result.config.scaleRule, scale: String(scale), layout: 'bhld', causal: 'true' };
    writeFileWhole(path, safetensorsBytes(tensors, metadata), 'train: --save-qk');
    const rule = result.config.scaleRule;
    // What the file cannot hold: the cap is applied after q·k, and a sink logit (0, or learnt per head) joins the softmax beside the keys.
    const cap = rule === 'softcap' ? ', then capped at 50 (see whatIf.softcap50)'
      : rule === 'softmax1' || rule === 'sink' ? `, and its softmax has a sink logit (${rule === 'softmax1' ? '0' : 'learnt per head'}) that the file does not hold, so inspect's weights are the keys' share renormalised`
        : '';
    return `Q and K of ${captured.length} layer(s) on a held-out batch, shape [${captured[0].shape.join(',')}] (bhld), written to ${path}; ` +
      `the model scales q·k by ${scale}${cap}: scaledot inspect ${path} --causal --scale ${scale}\n`;
  };
}
