// The GPUs, networks and models `ulysses plan` knows by name. Every number is overridable from the
// command line or a config.json; the sources are named next to each one.
import type { ModelConfig } from '../nn/model-config.js';
import { PlanError } from './plan-error.js';

const GiB = 1024 ** 3;
const GB = 1e9;

export interface GpuSpec {
  readonly name: string;
  /** Peak dense bf16 tensor-core rate, FLOP/s (no 2:4 sparsity). */
  readonly peakFlops: number;
  /** Device memory in bytes. */
  readonly memoryBytes: number;
  /** NVLink bandwidth per GPU, one direction, bytes/s. */
  readonly nvlinkBytesPerS: number;
  /** GPUs in the node type this GPU usually ships in (HGX / DGX baseboard). */
  readonly gpusPerNode: number;
  /** The network the planner assumes unless --network says otherwise. */
  readonly defaultNetwork: string;
}

export interface NetworkSpec {
  readonly name: string;
  /** Inter-node bandwidth per GPU, one direction, bytes/s (one NIC per GPU, rail-optimised fabric). */
  readonly bytesPerSPerGpu: number;
  readonly description: string;
}

export const GPU_PRESETS: Readonly<Record<string, GpuSpec>> = {
  // NVIDIA A100 Tensor Core GPU datasheet (2021): 312 TFLOPS bf16 dense, 40 GB HBM2, NVLink 3
  // 600 GB/s total (300 GB/s each way); DGX A100 / Azure NDv4: 8 GPUs and 8 HDR 200 Gb/s NICs.
  'a100-40gb': { name: 'A100-40GB', peakFlops: 312e12, memoryBytes: 40 * GiB, nvlinkBytesPerS: 300 * GB, gpusPerNode: 8, defaultNetwork: 'hdr200' },
  // Same datasheet, 80 GB HBM2e variant.
  'a100-80gb': { name: 'A100-80GB', peakFlops: 312e12, memoryBytes: 80 * GiB, nvlinkBytesPerS: 300 * GB, gpusPerNode: 8, defaultNetwork: 'hdr200' },
  // NVIDIA H100 Tensor Core GPU datasheet, SXM5: 989 TFLOPS bf16 dense (1979 with sparsity),
  // 80 GB HBM3, NVLink 4 900 GB/s total (450 GB/s each way); DGX H100: 8 ConnectX-7 NDR 400 Gb/s.
  'h100-80gb': { name: 'H100-80GB (SXM)', peakFlops: 989e12, memoryBytes: 80 * GiB, nvlinkBytesPerS: 450 * GB, gpusPerNode: 8, defaultNetwork: 'ndr400' },
  // NVIDIA H200 Tensor Core GPU datasheet, SXM: 989 TFLOPS bf16 dense, 141 GB HBM3e, NVLink 900 GB/s.
  h200: { name: 'H200 (SXM)', peakFlops: 989e12, memoryBytes: 141 * GB, nvlinkBytesPerS: 450 * GB, gpusPerNode: 8, defaultNetwork: 'ndr400' },
};

export const NETWORK_PRESETS: Readonly<Record<string, NetworkSpec>> = {
  // InfiniBand HDR: 200 Gb/s per port = 25 GB/s, one port per GPU (DGX A100, Azure NDv4).
  hdr200: { name: 'hdr200', bytesPerSPerGpu: 25 * GB, description: 'InfiniBand HDR, 200 Gb/s per GPU' },
  // InfiniBand NDR: 400 Gb/s per port = 50 GB/s, one port per GPU (DGX H100, ConnectX-7).
  ndr400: { name: 'ndr400', bytesPerSPerGpu: 50 * GB, description: 'InfiniBand NDR, 400 Gb/s per GPU' },
  // A common cloud shape: one 100 Gb/s Ethernet (RoCE) NIC shared by 8 GPUs.
  roce100: { name: 'roce100', bytesPerSPerGpu: 12.5e9 / 8, description: 'RoCE 100 Gb/s per node of 8 GPUs' },
};

const gpt = (d: number, L: number, H: number): ModelConfig => ({
  // GPT-2 BPE vocabulary (50257) padded to a multiple of 128, as Megatron-LM pads it.
  arch: 'gpt', vocab_size: 50304, max_seq_len: 2048, d_model: d, n_layers: L, n_heads: H, n_kv_heads: H,
  d_ff: 4 * d, norm_eps: 1e-5, rope_theta: 10000, tie_embeddings: true,
});

const llama3 = (d: number, L: number, H: number, Hkv: number, F: number): ModelConfig => ({
  // Meta Llama 3 model card / config.json: vocabulary 128256, RoPE theta 500000, untied head.
  arch: 'llama', vocab_size: 128256, max_seq_len: 8192, d_model: d, n_layers: L, n_heads: H, n_kv_heads: Hkv,
  d_ff: F, norm_eps: 1e-5, rope_theta: 500000, tie_embeddings: false,
});

/**
 * The paper's GPT sizes. The paper (arXiv 2309.14509) names them by parameter count only; these
 * are the GPT-3 family shapes Megatron-DeepSpeed's sequence-parallel examples use for them
 * (1.3B: 24 x 2048, 16 heads; 6.7B: 32 x 4096, 32 heads) and a 64 x 6144, 64-head model for 30B.
 */
export const MODEL_PRESETS: Readonly<Record<string, ModelConfig>> = {
  'gpt-1.2b': gpt(2048, 24, 16),
  'gpt-7b': gpt(4096, 32, 32),
  'gpt-30b': gpt(6144, 64, 64),
  // Llama 3 8B: 32 layers, d 4096, 32 heads, 8 kv heads, MLP 14336.
  'llama3-8b': llama3(4096, 32, 32, 8, 14336),
  // Llama 3 70B: 80 layers, d 8192, 64 heads, 8 kv heads, MLP 28672.
  'llama3-70b': llama3(8192, 80, 64, 8, 28672),
};

function lookup<T>(table: Readonly<Record<string, T>>, what: string, name: string): T {
  const hit = table[name.toLowerCase()];
  if (!hit) throw new PlanError(`unknown ${what} "${name}"; allowed: ${Object.keys(table).join(', ')}`);
  return hit;
}

export function gpuPreset(name: string): GpuSpec {
  return lookup(GPU_PRESETS, 'GPU preset', name);
}

export function networkPreset(name: string): NetworkSpec {
  return lookup(NETWORK_PRESETS, 'network preset', name);
}

export function modelPreset(name: string): ModelConfig {
  return { ...lookup(MODEL_PRESETS, 'model preset', name) };
}
