export { initWebGpuAttention, webGpuAttentionInfo, type WebGpuAttentionInfo } from './device.js';
