/**
 * The WebGPU device the webgpu backend computes on: asked for once by
 * initWebGpuAttention(), then held. Everything here is the standard WebGPU
 * API (navigator.gpu), so it runs in a browser; in Node there is no
 * navigator.gpu and the backend stays unavailable with a reason (docs/webgpu.md).
 */

/** What initWebGpuAttention() found: the adapter and the limits the kernels were sized by, or why there is no device. */
export interface WebGpuAttentionInfo {
  available: boolean;
  /** Why the backend is unavailable (null when available, or before initWebGpuAttention() was called: see `initialised`). */
  reason: string | null;
  initialised: boolean;
  adapter: { vendor: string; architecture: string; device: string; description: string } | null;
  features: string[];
  /** The device's limits the kernels depend on. */
  limits: { maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number; maxStorageBufferBindingSize: number; maxBufferSize: number } | null;
  /** Whether the adapter has subgroups (the kernels do not need them; docs/webgpu.md says where they would go). */
  subgroups: boolean;
  /** Whether the adapter has shader-f16 (the kernels compute in float32 either way, rounding half dtypes at the end). */
  shaderF16: boolean;
}

interface Held {
  device: GPUDevice;
  info: WebGpuAttentionInfo;
}

let held: Held | null = null;
let failure: string | null = null;
let pending: Promise<WebGpuAttentionInfo> | null = null;

function unavailable(reason: string, initialised: boolean): WebGpuAttentionInfo {
  return { available: false, reason, initialised, adapter: null, features: [], limits: null, subgroups: false, shaderF16: false };
}

/** The adapter, limits and features of the held device, or why there is none. Starts nothing: call initWebGpuAttention() first. */
export function webGpuAttentionInfo(): WebGpuAttentionInfo {
  if (held !== null) return held.info;
  if (failure !== null) return unavailable(failure, true);
  return unavailable('webgpu.init() (initWebGpuAttention) has not been called (a GPU device is asked for asynchronously, once)', false);
}

/** Where initWebGpuAttention() finds WebGPU. */
export interface WebGpuInitOptions {
  /**
   * A WebGPU entry point to use instead of navigator.gpu: in Node, for
   * example, `create([])` of npm's `webgpu` package (Dawn). Not a dependency
   * of scaledot; see docs/webgpu.md.
   */
  gpu?: GPU;
}

/**
 * Asks for a WebGPU adapter and device (navigator.gpu, or options.gpu), once;
 * later calls return the same answer. Never throws: where there is no WebGPU
 * the answer says why, and impl 'webgpu' stays unavailable ('auto' picks
 * another backend).
 */
export function initWebGpuAttention(options?: WebGpuInitOptions): Promise<WebGpuAttentionInfo> {
  pending ??= acquire(options?.gpu);
  return pending;
}

async function acquire(given: GPU | undefined): Promise<WebGpuAttentionInfo> {
  const gpu = given ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (gpu === undefined) {
    failure = typeof (globalThis as { process?: unknown }).process === 'object'
      ? 'no navigator.gpu: this runtime (Node) has no WebGPU; pass initWebGpuAttention({ gpu }) one (docs/webgpu.md)'
      : 'no navigator.gpu: this browser has no WebGPU, or the page is not a secure context (https or localhost)';
    return webGpuAttentionInfo();
  }
  try {
    const adapter = await gpu.requestAdapter();
    if (adapter === null) {
      failure = 'navigator.gpu.requestAdapter() returned null: no GPU adapter is available';
      return webGpuAttentionInfo();
    }
    const device = await adapter.requestDevice({
      // The largest buffers the adapter allows, so that big problems fit; the rest are WebGPU's defaults.
      requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize },
    });
    device.lost.then((lost) => {
      held = null;
      pending = null;
      failure = `the GPU device was lost (${lost.reason}: ${lost.message}); call initWebGpuAttention() again`;
    });
    const a = adapter.info;
    const features = [...adapter.features].map(String).sort();
    const info: WebGpuAttentionInfo = {
      available: true, reason: null, initialised: true,
      adapter: { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description },
      features,
      limits: {
        maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
        maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
        maxBufferSize: device.limits.maxBufferSize,
      },
      subgroups: features.includes('subgroups'),
      shaderF16: features.includes('shader-f16'),
    };
    held = { device, info };
    failure = null;
    return info;
  } catch (error) {
    failure = `requesting a WebGPU device failed: ${error instanceof Error ? error.message : String(error)}`;
    return webGpuAttentionInfo();
  }
}

/** The held device, or null before initWebGpuAttention() succeeded. */
export function heldDevice(): GPUDevice | null {
  return held?.device ?? null;
}
