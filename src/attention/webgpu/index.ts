export { initWebGpuAttention, webGpuAttentionInfo, type WebGpuAttentionInfo, type WebGpuInitOptions } from './device.js';
