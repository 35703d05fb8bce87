// Every key of the ulysses JSON config with its type, range and meaning. Top-level keys use
// DeepSpeed's names so a DeepSpeed config section can be pasted in; model, data and train
// are ulysses' own sections.
import type { FieldSpec } from './schema.js';

export const CONFIG_SCHEMA: Record<string, FieldSpec> = {
  train_micro_batch_size_per_gpu: { kind: 'int', min: 1, doc: 'sequences per micro-batch on one worker' },
  gradient_accumulation_steps: { kind: 'int', min: 1, doc: 'micro-batches summed into one optimizer step' },
  train_batch_size: {
    kind: 'int',
    min: 1,
    auto: true,
    doc: 'sequences per optimizer step; must equal micro batch * accumulation * data-parallel size',
  },
  gradient_clipping: { kind: 'number', min: 0, doc: 'clip the global gradient L2 norm to this (0 = off)' },
  steps_per_print: { kind: 'int', min: 1, doc: 'print a progress line every this many steps' },
  seed: { kind: 'int', min: 0, max: 2 ** 32 - 1, doc: 'seed of model init and data sampling' },
  sequence_parallel_size: {
    kind: 'int',
    min: 1,
    max: 4096,
    doc: 'Ulysses sequence-parallel degree: ranks sharing every sequence (at most model.n_heads and data.seq_len)',
  },
  data_parallel_size: {
    kind: 'int',
    min: 1,
    max: 4096,
    doc: 'data-parallel degree: groups of sequence-parallel ranks reading different sequences',
  },
  sequence_parallel: {
    kind: 'section',
    doc: 'how the sequence_parallel_size ranks share each sequence',
    fields: {
      mode: {
        kind: 'enum',
        values: ['ulysses', 'megatron', 'ring', 'hybrid'],
        doc: '"ulysses": all-to-all to head-sharded attention (DeepSpeed-Ulysses); "megatron": Megatron-LM tensor + sequence parallelism (heads and MLP columns split, all-gather / reduce-scatter around each block); "ring": ring attention (context parallelism) with the zigzag token layout; "hybrid": Ulysses inside ring groups (USP), sequence_parallel_size = ulysses degree x sequence_parallel.ring_size',
        supported: { values: ['ulysses', 'megatron', 'ring', 'hybrid'], why: 'the baselines are not built yet' },
      },
      ring_size: {
        kind: 'int', min: 1, max: 4096, auto: true,
        doc: 'hybrid: ring degree R; the Ulysses degree is sequence_parallel_size / R ("auto" = the smallest R that makes the Ulysses degree divide model.n_kv_heads)',
      },
    },
  },
  zero_optimization: {
    kind: 'section',
    doc: 'ZeRO sharding of model states',
    fields: {
      stage: {
        kind: 'int',
        min: 0,
        max: 3,
        doc: 'ZeRO stage over the dp x sp group: 0 replicates every model state; 1 shards the AdamW moments; 2 also the reduced gradients; 3 also the parameters (gathered per layer)',
      },
    },
  },
  bf16: {
    kind: 'section',
    doc: 'bfloat16 storage and communication',
    fields: {
      enabled: {
        kind: 'bool',
        doc: 'send the Ulysses all-to-alls (q, k, v, out and their gradients) as bf16, halving their bytes; compute, master weights and optimizer state stay fp32',
      },
    },
  },
  activation_checkpointing: {
    kind: 'section',
    doc: 'the memory toolkit: activation checkpointing, tiled MLP, tiled logits + loss, bf16 storage of saved activations (each optional, exact except bf16)',
    fields: {
      enabled: {
        kind: 'bool',
        doc: 'checkpoint every transformer block: keep only its input [tokens, d_model] and recompute its forward (attention and its all-to-alls included) in backward',
      },
      mlp_tile_tokens: {
        kind: 'int', min: 0, auto: true,
        doc: 'sequence-tiled MLP: tokens per tile; the [tokens, d_ff] activations exist one tile at a time and are recomputed in backward (0 = off, "auto" = tiles of about 4 MiB)',
      },
      logits_tile_tokens: {
        kind: 'int', min: 0, auto: true,
        doc: 'tiled logits + loss: tokens per tile; the [tokens, vocab] logits and their gradient exist one tile at a time, the output layer\'s backward fused into forward (0 = off, "auto" = tiles of about 4 MiB)',
      },
      bf16_activations: {
        kind: 'bool',
        doc: 'store the activations kept for backward (block inputs, norm outputs, q/k/v, attention and MLP outputs) as bf16; compute, master weights and optimizer states stay fp32; gradients move by bf16 rounding (about 1% relative)',
      },
    },
  },
  optimizer: {
    kind: 'section',
    doc: 'optimizer (DeepSpeed layout)',
    fields: {
      type: { kind: 'enum', values: ['AdamW'], doc: 'optimizer type' },
      params: {
        kind: 'section',
        doc: 'optimizer hyperparameters',
        fields: {
          lr: { kind: 'number', min: 0, minExclusive: true, max: 10, doc: 'peak learning rate' },
          betas: { kind: 'pair', min: 0, max: 1, doc: 'Adam beta1, beta2' },
          eps: { kind: 'number', min: 0, minExclusive: true, max: 1, doc: 'Adam epsilon' },
          weight_decay: { kind: 'number', min: 0, max: 10, doc: 'decoupled weight decay on matrices' },
        },
      },
    },
  },
  scheduler: {
    kind: 'section',
    doc: 'learning-rate schedule (DeepSpeed layout)',
    fields: {
      type: { kind: 'enum', values: ['WarmupCosineLR'], doc: 'schedule type' },
      params: {
        kind: 'section',
        doc: 'schedule parameters',
        fields: {
          warmup_num_steps: { kind: 'int', min: 0, auto: true, doc: 'steps of warmup from warmup_min_ratio * lr to lr ("auto" = 5% of total_num_steps)' },
          total_num_steps: { kind: 'int', min: 1, auto: true, doc: 'end of the cosine decay ("auto" = train.steps)' },
          warmup_min_ratio: { kind: 'number', min: 0, max: 1, doc: 'lr ratio at the start of warmup' },
          cos_min_ratio: { kind: 'number', min: 0, max: 1, doc: 'lr ratio at the end of the cosine decay' },
          warmup_type: { kind: 'enum', values: ['linear', 'log'], doc: 'warmup curve' },
        },
      },
    },
  },
  model: {
    kind: 'section',
    doc: 'transformer shape',
    fields: {
      type: { kind: 'enum', values: ['gpt', 'llama'], doc: 'GPT-2 style (LayerNorm, GELU, learned positions) or Llama style (RMSNorm, SwiGLU, RoPE, GQA)' },
      d_model: { kind: 'int', min: 1, max: 65536, doc: 'hidden size' },
      n_layers: { kind: 'int', min: 1, max: 1024, doc: 'transformer blocks' },
      n_heads: { kind: 'int', min: 1, max: 4096, doc: 'query heads (must divide d_model)' },
      n_kv_heads: { kind: 'int', min: 1, max: 4096, auto: true, doc: 'key/value heads, dividing n_heads ("auto" = n_heads)' },
      d_ff: { kind: 'int', min: 1, auto: true, doc: 'MLP width ("auto" = 4*d_model for gpt, 8/3*d_model rounded up to 32 for llama)' },
      vocab_size: { kind: 'int', min: 1, max: 65536, doc: 'vocabulary size (at least 256 for the byte tokenizer, at least the vocabulary of data.tokenizer otherwise)' },
      max_seq_len: { kind: 'int', min: 1, doc: 'longest sequence the model accepts' },
      norm_eps: { kind: 'number', min: 0, minExclusive: true, max: 1, doc: 'epsilon of LayerNorm / RMSNorm' },
      rope_theta: { kind: 'number', min: 1, doc: 'RoPE base (llama)' },
      tie_embeddings: { kind: 'bool', doc: 'share the token embedding with the output layer (always true for gpt)' },
    },
  },
  attention: {
    kind: 'section',
    doc: 'the attention of every layer (always causal; keys a kind does not use must stay null)',
    fields: {
      kind: {
        kind: 'enum',
        values: ['flash', 'dense', 'sliding_window', 'block_sparse'],
        doc: '"flash": the fused kernel (O(N) memory, causal + document masks); "dense": the TypeScript reference attention with full score rows, slow, for checking; "sliding_window": each token sees the last attention.window tokens; "block_sparse": blocks of attention.block_size tokens see the blocks attention.layout chooses',
      },
      window: { kind: 'int', min: 1, nullable: true, doc: 'sliding_window: tokens each query sees, itself included' },
      block_size: { kind: 'int', min: 1, nullable: true, doc: 'block_sparse: tokens per block' },
      layout: {
        kind: 'enum', values: ['bigbird', 'fixed', 'strided'], nullable: true,
        doc: 'block_sparse: "bigbird" (local + global + random blocks), "fixed" (Sparse Transformer chunks + summary blocks), "strided" (Sparse Transformer local + every stride_blocks-th block)',
      },
      per_head: { kind: 'bool', nullable: true, doc: 'block_sparse: one layout per query head instead of one shared (null = false; differs only where the layout draws random blocks)' },
      seed: { kind: 'int', min: 0, max: 2 ** 32 - 1, nullable: true, doc: 'block_sparse bigbird: seed of the random blocks (null = the config seed)' },
      local_blocks: { kind: 'int', min: 0, nullable: true, doc: 'block_sparse bigbird: neighbouring blocks seen on each side (null = 1)' },
      global_blocks: { kind: 'int', min: 0, nullable: true, doc: 'block_sparse bigbird: first blocks that see and are seen by every block (null = 1)' },
      random_blocks: { kind: 'int', min: 0, nullable: true, doc: 'block_sparse bigbird: extra random key blocks per query block (null = 1)' },
      stride_blocks: { kind: 'int', min: 1, nullable: true, doc: 'block_sparse fixed and strided: chunk length / stride in blocks (null = 4)' },
      summary_blocks: { kind: 'int', min: 0, nullable: true, doc: 'block_sparse fixed: last blocks of every chunk that every query sees (null = 1)' },
    },
  },
  data: {
    kind: 'section',
    doc: 'training data',
    fields: {
      corpus: {
        kind: 'string',
        doc: '"brown", a text file, a folder of .txt files, a .tokens file from `ulysses prepare`, or a generated long-range task: "task:passkey", "task:recall" or "task:copy" (loss on the answer bytes only)',
      },
      tokenizer: {
        kind: 'string',
        doc: '"bytes" (one token per UTF-8 byte, vocabulary 256) or a Hugging Face tokenizer.json or the folder holding it (model.vocab_size must cover its vocabulary)',
      },
      seq_len: { kind: 'int', min: 1, doc: 'tokens per training sequence (<= model.max_seq_len)' },
      pack_documents: {
        kind: 'bool',
        doc: 'windows hold several documents (a new one starts after each separator token): attention stays inside each, positions restart at 0 at each start',
      },
      val_fraction: { kind: 'number', min: 0, max: 0.5, doc: 'share of the corpus (its end) held out for validation' },
      val_every: { kind: 'int', min: 0, doc: 'validate every this many steps (0 = only at the end)' },
      val_batches: { kind: 'int', min: 1, doc: 'micro-batches per validation' },
      task_min_len: {
        kind: 'int', min: 1, nullable: true,
        doc: 'with a "task:" corpus: null = one sample of data.seq_len tokens per row; else each row packs samples of log-uniform lengths between this and data.seq_len (attention stays inside each sample)',
      },
      task_whole_share: {
        kind: 'number', min: 0, max: 1,
        doc: 'with a "task:" corpus and data.task_min_len: the share of each batch\'s rows that hold one sample of data.seq_len tokens all the same (packing seldom makes a sample that long), spread evenly over the rows',
      },
      task_loss: {
        kind: 'enum', values: ['answer', 'all'],
        doc: 'with a "task:" corpus: the training loss on the answer bytes only ("answer"), or on every byte ("all": the filler too, which teaches copying from earlier context); validation is on the answer',
      },
    },
  },
  train: {
    kind: 'section',
    doc: 'the run',
    fields: {
      steps: { kind: 'int', min: 1, doc: 'optimizer steps' },
      kernels: { kind: 'enum', values: ['native', 'reference'], doc: 'kernel implementation' },
      threads: {
        kind: 'int', min: 1, max: 1024, auto: true,
        doc: 'kernel and BLAS threads of one machine, split evenly over the ranks computing at once on it ("auto" = all its cores)',
      },
      rank_concurrency: {
        kind: 'int', min: 1, max: 4096, auto: true,
        doc: 'threads backend: ranks computing at once, each with train.threads / this many threads; the others wait for a core and a rank waiting on communication hands its core over ("auto" = min(ranks, train.threads), so ranks x threads never oversubscribe the cores)',
      },
      backend: {
        kind: 'enum',
        values: ['auto', 'threads', 'mpi'],
        doc: 'how the ranks run: worker threads of this process ("threads"), one process each under mpirun, on one machine or many ("mpi"), or mpi when mpirun started this process and threads otherwise ("auto")',
      },
      out_dir: { kind: 'string', doc: 'folder that holds run folders' },
      run_name: { kind: 'string', nullable: true, doc: 'run folder name under out_dir (null = a timestamp)' },
      checkpoint_every: { kind: 'int', min: 0, doc: 'save a checkpoint every this many steps (0 = only at the end)' },
      init_from: {
        kind: 'string',
        nullable: true,
        doc: 'start from the weights of a Hugging Face model folder (config.json + safetensors) or a ulysses run/checkpoint folder; its config.json sets the model section (null = random init; ignored on --resume)',
      },
    },
  },
};
