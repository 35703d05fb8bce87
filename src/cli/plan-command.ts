// `ulysses plan`: memory, communication and step time of a training run on a GPU cluster, for
// every sequence-parallel strategy and degree, before anyone rents the cluster.
import type { Command } from 'commander';
import type { ModelConfig } from '../nn/model-config.js';
import type { ZeroStage } from '../parallel/zero/engine.js';
import {
  DEFAULT_EFFICIENCY, formatMaxSeq, formatPlan, gpuPreset, GPU_PRESETS, maxSeq, networkPreset, NETWORK_PRESETS, plan,
  PlanError, resolveModel, STRATEGIES, type PlanFilter, type PlanRequest, type StrategyName,
} from '../plan/index.js';
import { runCommand } from './cli-errors.js';

export interface PlanFlags {
  model: string;
  seq?: string;
  gpus: string;
  gpu: string;
  nodes?: string;
  gpusPerNode?: string;
  network?: string;
  zero: string;
  checkpointing?: boolean;
  microBatch: string;
  json?: boolean;
  maxSeq?: boolean;
  strategy?: string;
  sp?: string;
  gemmEfficiency?: string;
  attentionEfficiency?: string;
  bandwidthEfficiency?: string;
  memoryReserve: string;
  peakTflops?: string;
  gpuMemoryGib?: string;
  nvlinkGbps?: string;
  ibGbps?: string;
  layers?: string;
  dModel?: string;
  heads?: string;
  kvHeads?: string;
  dFf?: string;
  vocab?: string;
}

/** The micro-batch sizes `--micro-batch auto` tries for every layout. */
const AUTO_MICRO_BATCHES = [1, 2, 4, 8, 16, 32, 64];

/** A count with an optional K (×1024) or M (×1024²) suffix: 8K, 256K, 1M, 4096. */
function count(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  const v = m ? Number(m[1]) * (m[2] === '' ? 1 : m[2]?.toLowerCase() === 'k' ? 1024 : 1024 * 1024) : NaN;
  if (!Number.isInteger(v) || v < 1) throw new PlanError(`${flag} must be a positive integer (suffix K or M allowed), got ${JSON.stringify(text)}`);
  return v;
}

function real(flag: string, text: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new PlanError(`${flag} must be a positive number, got ${JSON.stringify(text)}`);
  return v;
}

function modelOverrides(f: PlanFlags): Partial<ModelConfig> {
  const o: Partial<ModelConfig> = {};
  if (f.layers) o.n_layers = count('--layers', f.layers);
  if (f.dModel) o.d_model = count('--d-model', f.dModel);
  if (f.heads) o.n_heads = count('--heads', f.heads);
  if (f.kvHeads) o.n_kv_heads = count('--kv-heads', f.kvHeads);
  if (f.dFf) o.d_ff = count('--d-ff', f.dFf);
  if (f.vocab) o.vocab_size = count('--vocab', f.vocab);
  return o;
}

/** The request the flags describe (presets resolved, overrides applied); seq 0 under --max-seq. */
export function requestFromFlags(f: PlanFlags): { request: PlanRequest; filter: PlanFilter } {
  const { name, config } = resolveModel(f.model, modelOverrides(f));
  const preset = gpuPreset(f.gpu);
  const gpu = {
    ...preset,
    ...(f.peakTflops ? { peakFlops: real('--peak-tflops', f.peakTflops) * 1e12 } : {}),
    ...(f.gpuMemoryGib ? { memoryBytes: real('--gpu-memory-gib', f.gpuMemoryGib) * 1024 ** 3 } : {}),
    ...(f.nvlinkGbps ? { nvlinkBytesPerS: real('--nvlink-gbps', f.nvlinkGbps) * 1e9 } : {}),
  };
  const net = networkPreset(f.network ?? preset.defaultNetwork);
  const network = f.ibGbps ? { ...net, bytesPerSPerGpu: real('--ib-gbps', f.ibGbps) * 1e9, description: `${f.ibGbps} GB/s per GPU` } : net;
  const gpus = count('--gpus', f.gpus);
  if (f.nodes && f.gpusPerNode) throw new PlanError('give --nodes or --gpus-per-node, not both');
  let gpusPerNode = f.gpusPerNode ? count('--gpus-per-node', f.gpusPerNode) : Math.min(gpus, preset.gpusPerNode);
  if (f.nodes) {
    const nodes = count('--nodes', f.nodes);
    if (gpus % nodes !== 0) throw new PlanError(`--gpus ${gpus} cannot be split evenly over --nodes ${nodes}; use a node count dividing ${gpus}`);
    gpusPerNode = gpus / nodes;
  }
  const zero = Number(f.zero);
  if (![0, 1, 2, 3].includes(zero)) throw new PlanError(`--zero must be 0, 1, 2 or 3, got ${JSON.stringify(f.zero)}`);
  const strategies = f.strategy?.split(',').map((s) => s.trim()) as StrategyName[] | undefined;
  for (const s of strategies ?? []) {
    if (!STRATEGIES.includes(s)) throw new PlanError(`--strategy ${s} is unknown; allowed: ${STRATEGIES.join(', ')}`);
  }
  const auto = f.microBatch === 'auto';
  if (!f.seq && !f.maxSeq) throw new PlanError('--seq is required (or --max-seq to find the longest sequence that fits)');
  const request: PlanRequest = {
    modelName: name, model: config, seq: f.seq ? count('--seq', f.seq) : 0, gpus, gpusPerNode, gpu, network,
    zero: zero as ZeroStage, checkpointing: f.checkpointing ? 'on' : 'auto', microBatch: auto ? 1 : count('--micro-batch', f.microBatch),
    efficiency: {
      gemm: f.gemmEfficiency ? real('--gemm-efficiency', f.gemmEfficiency) : DEFAULT_EFFICIENCY.gemm,
      attention: f.attentionEfficiency ? real('--attention-efficiency', f.attentionEfficiency) : DEFAULT_EFFICIENCY.attention,
      bandwidth: f.bandwidthEfficiency ? real('--bandwidth-efficiency', f.bandwidthEfficiency) : DEFAULT_EFFICIENCY.bandwidth,
    },
    memoryReserve: Number(f.memoryReserve),
  };
  const filter: PlanFilter = {
    ...(strategies ? { strategies } : {}), ...(f.sp ? { sp: count('--sp', f.sp) } : {}),
    ...(auto ? { microBatches: AUTO_MICRO_BATCHES } : {}),
  };
  return { request, filter };
}

/** What the command prints for these flags. */
export function runPlan(f: PlanFlags): string {
  const { request, filter } = requestFromFlags(f);
  if (f.maxSeq) {
    const results = maxSeq(request, filter);
    return f.json ? JSON.stringify({ request, maxSeq: results }, null, 2) : formatMaxSeq(request, results);
  }
  const p = plan(request, filter);
  return f.json ? JSON.stringify(p, null, 2) : formatPlan(p);
}

export function addPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('estimate memory, communication and step time of a run on a GPU cluster for Ulysses, Megatron-SP, ring and hybrid')
    .requiredOption('--model <preset|config.json>', 'gpt-1.2b, gpt-7b, gpt-30b, llama3-8b, llama3-70b, or a config.json path')
    .option('--seq <tokens>', 'tokens per sequence (K and M suffixes allowed: 64K)')
    .requiredOption('--gpus <count>', 'GPUs in the cluster')
    .requiredOption('--gpu <preset>', `GPU type: ${Object.keys(GPU_PRESETS).join(', ')}`)
    .option('--nodes <n>', 'nodes (GPUs per node = gpus / nodes)')
    .option('--gpus-per-node <g>', 'GPUs per node (default: 8, or fewer when --gpus is smaller)')
    .option('--network <preset>', `inter-node network: ${Object.keys(NETWORK_PRESETS).join(', ')} (default: the GPU's usual one)`)
    .option('--zero <stage>', 'ZeRO stage 0-3, over dp x sp (Megatron-SP: over dp)', '3')
    .option('--checkpointing', 'always checkpoint activations (default: only when needed to fit)')
    .option('--micro-batch <b>', 'sequences per data-parallel replica per step, or auto: the fastest of 1, 2, 4 .. 64 that fits, per layout', '1')
    .option('--json', 'print the whole estimate as JSON')
    .option('--max-seq', 'find the longest sequence each strategy fits (binary search)')
    .option('--strategy <list>', `only these strategies, comma separated: ${STRATEGIES.join(', ')}`)
    .option('--sp <n>', 'only this sequence-parallel degree')
    .option('--gemm-efficiency <x>', `share of peak GEMMs sustain (default ${DEFAULT_EFFICIENCY.gemm})`)
    .option('--attention-efficiency <x>', `share of peak fused attention sustains (default ${DEFAULT_EFFICIENCY.attention})`)
    .option('--bandwidth-efficiency <x>', `share of link peak collectives achieve (default ${DEFAULT_EFFICIENCY.bandwidth})`)
    .option('--memory-reserve <x>', 'share of GPU memory kept free (CUDA context, fragmentation, NCCL)', '0.1')
    .option('--peak-tflops <x>', 'override the GPU peak bf16 TFLOP/s')
    .option('--gpu-memory-gib <x>', 'override the GPU memory')
    .option('--nvlink-gbps <x>', 'override NVLink GB/s per GPU, one way')
    .option('--ib-gbps <x>', 'override inter-node GB/s per GPU, one way')
    .option('--layers <n>', 'override the model: layers')
    .option('--d-model <n>', 'override the model: width')
    .option('--heads <n>', 'override the model: query heads')
    .option('--kv-heads <n>', 'override the model: kv heads')
    .option('--d-ff <n>', 'override the model: MLP width')
    .option('--vocab <n>', 'override the model: vocabulary size')
    .action((f: PlanFlags) => runCommand(() => {
      console.log(runPlan(f));
    }));
}
