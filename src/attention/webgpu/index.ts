export { WEBGPU_AUTO_MIN_FLOPS, setWebGpuAutoMinFlops, webGpuAutoMinFlops } from './backend.js';
export { initWebGpuAttention, webGpuAttentionInfo, type WebGpuAttentionInfo, type WebGpuInitOptions } from './device.js';
