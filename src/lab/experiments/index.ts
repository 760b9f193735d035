import type { Experiment } from '../experiment.js';
import { variance } from './c1-variance.js';
import { saturation } from './c2-saturation.js';
import { gradient } from './c3-gradient.js';
import { power } from './c4-power.js';
import { initialisation } from './c5-init.js';
import { classifier } from './c6-classifier.js';
import { overflow } from './c7-overflow.js';
import { training } from './c8-training.js';
import { length } from './c9-length.js';
import { retrieval } from './c10-retrieval.js';
import { learningRate } from './c11-lr.js';
import { sinks } from './c12-sinks.js';

/**
 * Every experiment of the lab, in report order. A new experiment joins with
 * one import and one entry here (long ones set `fullOnly` and run with --full).
 */
export const EXPERIMENTS: readonly Experiment[] = [variance, saturation, gradient, power, initialisation, classifier, overflow, training, length, retrieval, learningRate, sinks];
