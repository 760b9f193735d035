import { Rng, ScaledotError } from '../tensor/index.js';
import { BigramModel } from './data/bigram.js';
import type { Batch } from './data/batch.js';
import { charIndex, loadNames, namesBatch, splitNames, type NamesData } from './data/names.js';
import { MAX_RETRIEVAL_DEFAULTS, maxRetrievalBatch, maxRetrievalVocabSize, type MaxRetrievalSpec } from './data/maxretrieval.js';
import { recallBatch, recallVocabSize, type RecallSpec } from './data/recall.js';
import { MARKED_COPY_DEFAULTS, markedCopyBatch, markedCopyVocabSize, type MarkedCopySpec } from './data/marked-copy.js';

export const TASKS = ['recall', 'names', 'maxretrieval', 'markedcopy'] as const;
export type TaskName = (typeof TASKS)[number];

/** `task` if it names a training task; otherwise an E_OPTION ScaledotError from `fn` that lists the tasks. */
export function checkTask(fn: string, task: unknown): TaskName {
  if (typeof task === 'string' && (TASKS as readonly string[]).includes(task)) return task as TaskName;
  throw new ScaledotError('E_OPTION', `${fn}: task ${JSON.stringify(task)} is unknown; expected one of ${TASKS.join(', ')}`);
}

/** What the training loop needs from a task: a vocabulary, training batches, a fixed validation set. */
export interface Task {
  name: TaskName;
  vocabSize: number;
  trainBatch(rng: Rng, batchSize: number): Batch;
  /** The validation set, fixed by the seed, in batches. */
  validation: Batch[];
  /**
   * A set task: no positions (no rotary, no token shift) and only the last
   * position is scored, so the model reads out the last row alone.
   */
  setTask?: boolean;
}

export interface RecallTask extends Task {
  name: 'recall';
  spec: RecallSpec;
  /** A validation set at `multiple` × the training length (more pairs, same symbols). */
  validationAt(multiple: number): Batch[];
}

export interface MaxRetrievalTask extends Task {
  name: 'maxretrieval';
  spec: MaxRetrievalSpec;
  /** A validation set at `multiple` × the training set size (as many sequences at every size: the readout costs O(n) per sequence). */
  validationAt(multiple: number): Batch[];
}

export interface MarkedCopyTask extends Task {
  name: 'markedcopy';
  spec: MarkedCopySpec;
}

export interface NamesTask extends Task {
  name: 'names';
  data: NamesData;
  bigram: BigramModel;
}

const VALIDATION_SEQUENCES = 256;
const VALIDATION_BATCH = 64;

/** `sequences` validation sequences in batches of VALIDATION_BATCH, drawn from their own seeded stream. */
function validationBatches(seed: number, sequences: number, batch: (rng: Rng, size: number) => Batch): Batch[] {
  const rng = new Rng(seed);
  const out: Batch[] = [];
  for (let left = sequences; left > 0; left -= VALIDATION_BATCH) out.push(batch(rng, Math.min(left, VALIDATION_BATCH)));
  return out;
}

/**
 * Recall at `pairs` pairs over `symbols` keys. The validation stream is seeded
 * apart from training (seed + 1e6), so validation sequences are unseen ones.
 */
export function makeRecallTask(seed: number, pairs: number, symbols: number, validationSequences = VALIDATION_SEQUENCES): RecallTask {
  const spec: RecallSpec = { symbols, pairs };
  const validationAt = (multiple: number): Batch[] => {
    const at = { symbols, pairs: pairs * multiple };
    return validationBatches(seed + 1e6 + multiple, validationSequences, (rng, size) => recallBatch(rng, size, at));
  };
  return {
    name: 'recall',
    spec,
    vocabSize: recallVocabSize(spec),
    trainBatch: (rng, batchSize) => recallBatch(rng, batchSize, spec),
    validation: validationAt(1),
    validationAt,
  };
}

/** Max-retrieval at set size `items` (see data/maxretrieval.ts); validation seeded apart from training. */
export function makeMaxRetrievalTask(
  seed: number, items: number, validationSequences = VALIDATION_SEQUENCES, options: Partial<Pick<MaxRetrievalSpec, 'priorities' | 'labels' | 'answer'>> = {},
): MaxRetrievalTask {
  const spec: MaxRetrievalSpec = { items, ...MAX_RETRIEVAL_DEFAULTS, ...options };
  const validationAt = (multiple: number): Batch[] => {
    const at = { ...spec, items: items * multiple };
    return validationBatches(seed + 2e6 + multiple, validationSequences, (rng, size) => maxRetrievalBatch(rng, size, at));
  };
  return {
    name: 'maxretrieval',
    spec,
    vocabSize: maxRetrievalVocabSize(spec),
    trainBatch: (rng, batchSize) => maxRetrievalBatch(rng, batchSize, spec),
    validation: validationAt(1),
    validationAt,
    setTask: true,
  };
}

/** Marked copy (see data/marked-copy.ts) at its defaults; validation seeded apart from training. */
export function makeMarkedCopyTask(seed: number, validationSequences = VALIDATION_SEQUENCES): MarkedCopyTask {
  const spec = { ...MARKED_COPY_DEFAULTS };
  return {
    name: 'markedcopy',
    spec,
    vocabSize: markedCopyVocabSize(spec),
    trainBatch: (rng, batchSize) => markedCopyBatch(rng, batchSize, spec),
    validation: validationBatches(seed + 3e6, validationSequences, (rng, size) => markedCopyBatch(rng, size, spec)),
  };
}

/**
 * Names split by `seed`; the bigram baseline is fitted on exactly the training
 * names. `validationNames` keeps only that many validation names (a seeded
 * random subset, since the split is shuffled) for cheaper evaluation.
 */
export function makeNamesTask(seed: number, names: readonly string[] = loadNames(), validationNames = Infinity): NamesTask {
  const split = splitNames(names, seed);
  const data = { ...split, validation: split.validation.slice(0, validationNames) };
  const index = charIndex(data);
  // Chunked by length so a batch pads little (the scores do not depend on the grouping).
  const chunks = (list: readonly string[]): Batch[] => {
    const byLength = [...list].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    const out: Batch[] = [];
    for (let i = 0; i < byLength.length; i += 128) out.push(namesBatch(byLength.slice(i, i + 128), index));
    return out;
  };
  let bigram: BigramModel | null = null;
  return {
    name: 'names',
    data,
    vocabSize: data.chars.length,
    trainBatch: (rng, batchSize) => namesBatch(Array.from({ length: batchSize }, () => data.train[rng.int(data.train.length)]), index),
    validation: chunks(data.validation),
    // Fitted on first use: a run that never reports it (the lab's) skips the counting.
    get bigram(): BigramModel {
      bigram ??= new BigramModel(data.chars.length, chunks(data.train));
      return bigram;
    },
  };
}
