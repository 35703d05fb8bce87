// Model hyperparameters shared by the GPT and Llama-style models.

export type ModelArch = 'gpt' | 'llama';

export interface ModelConfig {
  /** 'gpt': pre-LN, learned positions, GELU MLP, tied embeddings. 'llama': RMSNorm, RoPE, SwiGLU, GQA. */
  arch: ModelArch;
  vocab_size: number;
  /** Longest sequence the model accepts (learned position table size for GPT). */
  max_seq_len: number;
  d_model: number;
  n_layers: number;
  n_heads: number;
  /** Key/value heads; equals n_heads for GPT, divides n_heads for Llama (grouped-query attention). */
  n_kv_heads: number;
  /** MLP hidden width (4 * d_model for GPT). */
  d_ff: number;
  norm_eps: number;
  /** RoPE base (Llama only). */
  rope_theta: number;
  /** Share the token embedding with the output projection (always true for GPT). */
  tie_embeddings: boolean;
}
