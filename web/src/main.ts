import { byTestId } from './format.js';
import { mountAttentionSection } from './section-attention.js';
import { mountLengthSection } from './section-length.js';
import { mountOverflowSection } from './section-overflow.js';
import { mountScaleSection } from './section-scale.js';
import { mountTrainingSection } from './section-training.js';

/**
 * Mounts every section; each computes its figures with the library. The body
 * gets data-ready once all have drawn, so a test (or a screenshot) knows when
 * the page is complete.
 */
async function start(): Promise<void> {
  await Promise.all([
    mountScaleSection(byTestId(document, 'section-scale')),
    mountOverflowSection(byTestId(document, 'section-overflow')),
    mountAttentionSection(byTestId(document, 'section-attention')),
    mountLengthSection(byTestId(document, 'section-length')),
  ]);
  mountTrainingSection(byTestId(document, 'section-training'));
  document.body.dataset.ready = 'true';
}

start().catch(reportError);
