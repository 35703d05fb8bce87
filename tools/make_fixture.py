#!/usr/bin/python3
"""Golden fixtures for the model tests: a tiny GPT-2 and a tiny Llama written out in plain PyTorch.

Run by hand from the repository root with Debian's torch (1.13, no scaled_dot_product_attention):

    /usr/bin/python3 tools/make_fixture.py

It writes test/fixtures/gpt_tiny.safetensors and test/fixtures/llama_tiny.safetensors, each holding
every weight under the names src/nn uses, the batch (tokens, targets, positions, doc_ids), the
logits, the mean loss over tokens with a target, and every gradient as "grad.<param name>".
The model config is stored as JSON in the file's metadata under "config".

Weights are drawn in float32 (so the file holds them exactly) and the forward and backward run in
float64, so the fixture is the exact answer and only the TypeScript side carries fp32 rounding.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

OUT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures'))
B, T = 2, 16


def write_safetensors(path, tensors, metadata):
    """The safetensors format by hand: u64 header length, JSON header, raw little-endian data."""
    header = {'__metadata__': metadata}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.int32:
            dtype, raw = 'I32', t.numpy().astype('<i4').tobytes()
        else:
            dtype, raw = 'F32', t.to(torch.float32).numpy().astype('<f4').tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':'))
    text += ' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text.encode('utf-8'))
        for raw in blobs:
            f.write(raw)


def make_batch(config, gen):
    """Random tokens and targets (two ignored), row 1 starting at global position 5, two documents in row 1."""
    V = config['vocab_size']
    tokens = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
    targets = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
    targets[0, 3] = -1
    targets[1, T - 1] = -1
    positions = torch.stack([torch.arange(T), torch.arange(T) + 5])
    doc_ids = torch.zeros(B, T, dtype=torch.int64)
    doc_ids[1, 6:] = 1
    return tokens, targets, positions, doc_ids


def random_params(shapes, gen):
    """float32 draws, promoted to float64 leaves: norms near 1, biases small, matrices std 0.1."""
    params = {}
    for name, shape in shapes.items():
        if name.endswith('norm.weight') or '.ln_' in name or name.startswith('ln_f'):
            base, std = (1.0 if name.endswith('weight') else 0.0), 0.1
        elif name.endswith('.bias'):
            base, std = 0.0, 0.05
        else:
            base, std = 0.0, 0.1
        w = (base + std * torch.randn(*shape, generator=gen)).to(torch.float32)
        params[name] = w.to(torch.float64).requires_grad_(True)
    return params


def attention(q, k, v, doc_ids):
    """q [B,T,H,D], k/v [B,T,Hkv,D] -> [B,T,H,D]; causal and same-document mask, GQA by repeating kv heads."""
    H, Hkv, D = q.shape[2], k.shape[2], q.shape[3]
    k = k.repeat_interleave(H // Hkv, dim=2)
    v = v.repeat_interleave(H // Hkv, dim=2)
    q, k, v = (x.transpose(1, 2) for x in (q, k, v))  # [B,H,T,D]
    scores = q @ k.transpose(-1, -2) / math.sqrt(D)  # [B,H,T,T]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    same_doc = doc_ids[:, :, None] == doc_ids[:, None, :]  # [B,T,T]
    allowed = causal[None] & same_doc
    scores = scores.masked_fill(~allowed[:, None], float('-inf'))
    return (scores.softmax(-1) @ v).transpose(1, 2)  # [B,T,H,D]


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt_forward(cfg, p, tokens, positions, doc_ids):
    C, H, L, eps = cfg['d_model'], cfg['n_heads'], cfg['n_layers'], cfg['norm_eps']
    x = p['wte.weight'][tokens] + p['wpe.weight'][positions]
    for i in range(L):
        w = lambda n: p[f'h.{i}.{n}']
        h = F.layer_norm(x, (C,), w('ln_1.weight'), w('ln_1.bias'), eps)
        qkv = h @ w('attn.c_attn.weight') + w('attn.c_attn.bias')  # Conv1D: [in, out]
        q, k, v = (t.reshape(B, T, H, C // H) for t in qkv.split(C, dim=-1))
        y = attention(q, k, v, doc_ids).reshape(B, T, C)
        x = x + y @ w('attn.c_proj.weight') + w('attn.c_proj.bias')
        h = F.layer_norm(x, (C,), w('ln_2.weight'), w('ln_2.bias'), eps)
        h = gelu_tanh(h @ w('mlp.c_fc.weight') + w('mlp.c_fc.bias'))
        x = x + h @ w('mlp.c_proj.weight') + w('mlp.c_proj.bias')
    x = F.layer_norm(x, (C,), p['ln_f.weight'], p['ln_f.bias'], eps)
    return x @ p['wte.weight'].T


def gpt_shapes(cfg):
    V, P, C, Fd, L = cfg['vocab_size'], cfg['max_seq_len'], cfg['d_model'], cfg['d_ff'], cfg['n_layers']
    shapes = {'wte.weight': [V, C], 'wpe.weight': [P, C]}
    for i in range(L):
        shapes.update({
            f'h.{i}.ln_1.weight': [C], f'h.{i}.ln_1.bias': [C],
            f'h.{i}.attn.c_attn.weight': [C, 3 * C], f'h.{i}.attn.c_attn.bias': [3 * C],
            f'h.{i}.attn.c_proj.weight': [C, C], f'h.{i}.attn.c_proj.bias': [C],
            f'h.{i}.ln_2.weight': [C], f'h.{i}.ln_2.bias': [C],
            f'h.{i}.mlp.c_fc.weight': [C, Fd], f'h.{i}.mlp.c_fc.bias': [Fd],
            f'h.{i}.mlp.c_proj.weight': [Fd, C], f'h.{i}.mlp.c_proj.bias': [C],
        })
    shapes.update({'ln_f.weight': [C], 'ln_f.bias': [C]})
    return shapes


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, positions, theta):
    """Hugging Face rotate_half RoPE on x [B,T,H,D] at global positions [B,T]."""
    D = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))  # [D/2]
    freqs = positions.to(torch.float64)[..., None] * inv_freq  # [B,T,D/2]
    emb = torch.cat([freqs, freqs], dim=-1)[:, :, None, :]  # [B,T,1,D]
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    rotated = torch.cat([-x2, x1], dim=-1)
    return x * emb.cos() + rotated * emb.sin()


def llama_forward(cfg, p, tokens, positions, doc_ids):
    C, H, Hkv, L = cfg['d_model'], cfg['n_heads'], cfg['n_kv_heads'], cfg['n_layers']
    eps, theta, D = cfg['norm_eps'], cfg['rope_theta'], cfg['d_model'] // cfg['n_heads']
    x = p['embed_tokens.weight'][tokens]
    for i in range(L):
        w = lambda n: p[f'layers.{i}.{n}']
        h = rms_norm(x, w('input_layernorm.weight'), eps)
        q = (h @ w('self_attn.q_proj.weight').T).reshape(B, T, H, D)  # nn.Linear: [out, in]
        k = (h @ w('self_attn.k_proj.weight').T).reshape(B, T, Hkv, D)
        v = (h @ w('self_attn.v_proj.weight').T).reshape(B, T, Hkv, D)
        q, k = rope(q, positions, theta), rope(k, positions, theta)
        y = attention(q, k, v, doc_ids).reshape(B, T, C)
        x = x + y @ w('self_attn.o_proj.weight').T
        h = rms_norm(x, w('post_attention_layernorm.weight'), eps)
        h = F.silu(h @ w('mlp.gate_proj.weight').T) * (h @ w('mlp.up_proj.weight').T)
        x = x + h @ w('mlp.down_proj.weight').T
    x = rms_norm(x, p['norm.weight'], eps)
    return x @ p['lm_head.weight'].T


def llama_shapes(cfg):
    V, C, Fd, L = cfg['vocab_size'], cfg['d_model'], cfg['d_ff'], cfg['n_layers']
    KV = cfg['n_kv_heads'] * (C // cfg['n_heads'])
    shapes = {'embed_tokens.weight': [V, C]}
    for i in range(L):
        shapes.update({
            f'layers.{i}.input_layernorm.weight': [C],
            f'layers.{i}.self_attn.q_proj.weight': [C, C], f'layers.{i}.self_attn.k_proj.weight': [KV, C],
            f'layers.{i}.self_attn.v_proj.weight': [KV, C], f'layers.{i}.self_attn.o_proj.weight': [C, C],
            f'layers.{i}.post_attention_layernorm.weight': [C],
            f'layers.{i}.mlp.gate_proj.weight': [Fd, C], f'layers.{i}.mlp.up_proj.weight': [Fd, C],
            f'layers.{i}.mlp.down_proj.weight': [C, Fd],
        })
    shapes.update({'norm.weight': [C], 'lm_head.weight': [V, C]})
    return shapes


def make(name, cfg, shapes, forward, seed):
    gen = torch.Generator().manual_seed(seed)
    params = random_params(shapes, gen)
    tokens, targets, positions, doc_ids = make_batch(cfg, gen)
    logits = forward(cfg, params, tokens, positions, doc_ids)  # [B,T,V]
    loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), ignore_index=-1)
    loss.backward()
    tensors = {n: t for n, t in params.items()}
    i32 = lambda t: t.to(torch.int32)
    tensors.update({'tokens': i32(tokens), 'targets': i32(targets), 'positions': i32(positions),
                    'doc_ids': i32(doc_ids), 'logits': logits, 'loss': loss.reshape(1)})
    tensors.update({f'grad.{n}': t.grad for n, t in params.items()})
    path = os.path.join(OUT_DIR, f'{name}.safetensors')
    write_safetensors(path, tensors, {'config': json.dumps(cfg)})
    print(f'{path}: loss {loss.item():.6f}, {os.path.getsize(path)} bytes')


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    common = {'vocab_size': 64, 'max_seq_len': 24, 'd_model': 24, 'n_layers': 2, 'n_heads': 4,
              'norm_eps': 1e-5, 'rope_theta': 10000.0}
    gpt = dict(common, arch='gpt', n_kv_heads=4, d_ff=96, tie_embeddings=True)
    llama = dict(common, arch='llama', n_kv_heads=2, d_ff=64, tie_embeddings=False)
    make('gpt_tiny', gpt, gpt_shapes(gpt), gpt_forward, 1234)
    make('llama_tiny', llama, llama_shapes(llama), llama_forward, 5678)


if __name__ == '__main__':
    main()
