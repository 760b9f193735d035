// inspect: reads a model's own Q and K (safetensors, .npy, .npz) tensor by
// tensor and reports, per layer and head, how its attention logits behave and
// how they would under other scales. Node-only (file I/O): the CLI imports it;
// the library's browser entry does not.
export { inspect, resolveLayers, checkInspectOptions, type InspectOptions, type InspectResult, type LayerSummary, type TensorInput } from './run.js';
export { analyzeHead, SATURATED, FLOAT16_MAX, SOFTCAP, type HeadFigures, type HeadOutcome, type ScaleFigures } from './figures.js';
export { headFindings, type Finding } from './findings.js';
export { listTensors, fileFormat, type FileFormat } from './files.js';
export { pairTensors, type LayerInput } from './pairing.js';
export { headsShape, checkPair, LAYOUTS, type Layout, type QkView, type HeadsShape } from './view.js';
export { float16FromBits, decodeHalf } from './half.js';
export { safetensorsBytes } from './safetensors.js';
export { formatTable } from './table.js';
export { reportFiles } from './report.js';
export { checkOutDir, writeReport, REPORT_HTML, REPORT_FILE_NAMES } from './write.js';
export type { StoredTensor, TensorHeader, TensorData } from './stored.js';
