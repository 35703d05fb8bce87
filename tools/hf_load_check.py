#!/usr/bin/env python3
"""Check that a ulysses checkpoint opens in the Python ecosystem and computes what ulysses computes.

For each checkpoint folder (runs/<name>/checkpoint: model.safetensors + config.json), this script

1. asks ulysses (node, the compiled dist/ of this repository) for the logits of a prompt, or reads
   them from --logits;
2. "torch" check: rebuilds the GPT-2 or Llama forward pass in plain PyTorch from the safetensors
   weights and config.json alone (no transformers needed: Debian's python3-torch is enough) and
   compares the logits;
3. "transformers" check: loads the folder with transformers.AutoModelForCausalLM.from_pretrained(dir)
   and compares its logits too (skipped with a message when transformers is not installed).

Usage (from the repository root, after `npm run build`):

    python3 tools/hf_load_check.py runs/<name>/checkpoint --prompt "The jury said"
    python3 tools/hf_load_check.py DIR [DIR ...] --mode torch          # torch rebuild only
    python3 tools/hf_load_check.py DIR --tokens 464,318,257            # token ids instead of bytes
    python3 tools/hf_load_check.py DIR --save-logits ours.safetensors  # keep ulysses' logits
    python3 tools/hf_load_check.py DIR --logits ours.safetensors       # compare against saved ones

On Debian, PyTorch is `apt-get install python3-torch` and runs under /usr/bin/python3. A prompt is
encoded as UTF-8 bytes (ulysses' default tokenizer) unless --tokens gives ids. Exit status: 0 when
every check that ran agrees within --tol (relative L2 error of the logits), 1 otherwise, 2 on usage
errors.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Computes ulysses' logits for a checkpoint with the compiled TypeScript (hf-import reads the folder
# exactly as a user's --init-from would) and writes tokens + logits as safetensors.
NODE_SCRIPT = r"""
const [ckpt, tokensJson, out, repo] = process.argv.slice(1);
const imp = (p) => import(new URL(p, 'file://' + repo + '/').href);
const { importHfModel } = await imp('dist/src/train/hf-import.js');
const { createReferenceKernels } = await imp('dist/src/kernels/reference/reference-kernels.js');
const { writeSafetensors } = await imp('dist/src/tensor/safetensors.js');
const model = importHfModel(ckpt, createReferenceKernels());
const tokens = Int32Array.from(JSON.parse(tokensJson));
const T = tokens.length;
model.forward({ B: 1, T, tokens, targets: null, positions: Int32Array.from({ length: T }, (_, i) => i), docIds: null });
const logits = Float32Array.from(model.lastLogits());
writeSafetensors(out, new Map([
  ['tokens', { dtype: 'I32', shape: [T], data: tokens }],
  ['logits', { dtype: 'F32', shape: [T, model.config.vocab_size], data: logits }],
]));
"""

DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'F64': torch.float64, 'I32': torch.int32, 'I64': torch.int64}


def read_safetensors(path):
    """All tensors of a safetensors file (parsed by hand: the `safetensors` package is optional)."""
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        b, end = e['data_offsets']
        raw = bytearray(data[8 + n + b:8 + n + end])
        t = torch.frombuffer(raw, dtype=DTYPES[e['dtype']]) if raw else torch.empty(0, dtype=DTYPES[e['dtype']])
        out[name] = t.reshape(e['shape']).clone()
    return out


def read_weights(ckpt):
    if os.path.exists(os.path.join(ckpt, 'model.safetensors')):
        return read_safetensors(os.path.join(ckpt, 'model.safetensors'))
    with open(os.path.join(ckpt, 'model.safetensors.index.json')) as f:
        files = set(json.load(f)['weight_map'].values())
    weights = {}
    for name in files:
        weights.update(read_safetensors(os.path.join(ckpt, name)))
    return weights


def get(w, *names):
    for n in names:
        if n in w:
            return w[n].float()
    raise KeyError(f'none of {names} in the checkpoint')


def causal_attention(q, k, v):
    """q [H, T, D], k/v [H, T, D] -> [H, T, D], softmax in fp32 with a causal mask."""
    T, D = q.shape[1], q.shape[2]
    scores = q @ k.transpose(1, 2) / math.sqrt(D)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float('-inf'))
    return torch.softmax(scores, dim=-1) @ v


def gpt2_logits(cfg, w, ids):
    p = 'transformer.' if 'transformer.wte.weight' in w else ''
    C, H, L = cfg['n_embd'], cfg['n_head'], cfg['n_layer']
    eps = cfg.get('layer_norm_epsilon', 1e-5)
    T = ids.shape[0]
    ln = lambda x, n: torch.nn.functional.layer_norm(x, (C,), get(w, f'{p}{n}.weight'), get(w, f'{p}{n}.bias'), eps)
    # GPT-2 uses Conv1D: weight [in, out], y = x @ W + b.
    conv = lambda x, n: x @ get(w, f'{p}{n}.weight') + get(w, f'{p}{n}.bias')
    x = get(w, f'{p}wte.weight')[ids] + get(w, f'{p}wpe.weight')[:T]
    for i in range(L):
        qkv = conv(ln(x, f'h.{i}.ln_1'), f'h.{i}.attn.c_attn')
        q, k, v = (t.reshape(T, H, C // H).transpose(0, 1) for t in qkv.split(C, dim=1))
        y = causal_attention(q, k, v).transpose(0, 1).reshape(T, C)
        x = x + conv(y, f'h.{i}.attn.c_proj')
        h = conv(ln(x, f'h.{i}.ln_2'), f'h.{i}.mlp.c_fc')
        x = x + conv(torch.nn.functional.gelu(h, approximate='tanh'), f'h.{i}.mlp.c_proj')
    x = ln(x, 'ln_f')
    return x @ get(w, f'{p}wte.weight').T


def rope(x, theta):
    """Hugging Face rotate_half RoPE on x [H, T, D] at positions 0..T-1."""
    H, T, D = x.shape
    inv = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], dim=-1).float()
    sin = torch.cat([ang.sin(), ang.sin()], dim=-1).float()
    rot = torch.cat([-x[..., D // 2:], x[..., :D // 2]], dim=-1)
    return x * cos + rot * sin


def llama_logits(cfg, w, ids):
    C, H, L = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_hidden_layers']
    Hkv = cfg.get('num_key_value_heads') or H
    D = C // H
    eps = cfg.get('rms_norm_eps', 1e-6)
    theta = cfg.get('rope_theta', 10000.0)
    T = ids.shape[0]

    def rms(x, n):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * get(w, f'model.{n}.weight')

    lin = lambda x, n: x @ get(w, f'model.{n}.weight').T  # nn.Linear: weight [out, in]
    x = get(w, 'model.embed_tokens.weight')[ids]
    for i in range(L):
        a = f'layers.{i}.self_attn'
        h = rms(x, f'layers.{i}.input_layernorm')
        q = lin(h, f'{a}.q_proj').reshape(T, H, D).transpose(0, 1)
        k = lin(h, f'{a}.k_proj').reshape(T, Hkv, D).transpose(0, 1)
        v = lin(h, f'{a}.v_proj').reshape(T, Hkv, D).transpose(0, 1)
        q, k = rope(q, theta), rope(k, theta)
        k = k.repeat_interleave(H // Hkv, dim=0)
        v = v.repeat_interleave(H // Hkv, dim=0)
        y = causal_attention(q, k, v).transpose(0, 1).reshape(T, C)
        x = x + lin(y, f'{a}.o_proj')
        h = rms(x, f'layers.{i}.post_attention_layernorm')
        m = f'layers.{i}.mlp'
        x = x + lin(torch.nn.functional.silu(lin(h, f'{m}.gate_proj')) * lin(h, f'{m}.up_proj'), f'{m}.down_proj')
    x = rms(x, 'norm')
    head = w['lm_head.weight'].float() if 'lm_head.weight' in w else get(w, 'model.embed_tokens.weight')
    return x @ head.T


def torch_rebuild_logits(ckpt, ids):
    with open(os.path.join(ckpt, 'config.json')) as f:
        cfg = json.load(f)
    w = read_weights(ckpt)
    if cfg.get('model_type') == 'gpt2':
        return gpt2_logits(cfg, w, ids)
    if cfg.get('model_type') == 'llama':
        return llama_logits(cfg, w, ids)
    raise SystemExit(f'{ckpt}: model_type {cfg.get("model_type")!r} is not gpt2 or llama')


def transformers_logits(ckpt, ids):
    from transformers import AutoModelForCausalLM  # noqa: imported only when installed

    model = AutoModelForCausalLM.from_pretrained(ckpt, torch_dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        return model(ids[None, :]).logits[0].float()


def ulysses_logits(ckpt, ids, node):
    entry = os.path.join(REPO, 'dist', 'src', 'train', 'hf-import.js')
    if not os.path.exists(entry):
        raise SystemExit(f'{entry} is missing: build ulysses first (npm run build)')
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'logits.safetensors')
        subprocess.run([node, '--input-type=module', '-e', NODE_SCRIPT, ckpt, json.dumps(ids.tolist()), out, REPO], check=True)
        t = read_safetensors(out)
    return t['tokens'].long(), t['logits']


def compare(name, theirs, ours, tol):
    diff = (theirs - ours).double()
    rel = diff.norm().item() / max(ours.double().norm().item(), 1e-30)
    same_argmax = bool((theirs.argmax(-1) == ours.argmax(-1)).all())
    ok = rel <= tol and same_argmax
    print(f'  {name}: max |diff| {diff.abs().max().item():.3e}, relative L2 {rel:.3e}, '
          f'argmax {"identical" if same_argmax else "DIFFERS"} -> {"OK" if ok else "MISMATCH"}')
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('checkpoints', nargs='+', help='checkpoint folders (model.safetensors + config.json)')
    ap.add_argument('--prompt', default='The jury said', help='text, encoded as UTF-8 bytes')
    ap.add_argument('--tokens', help='comma-separated token ids instead of --prompt')
    ap.add_argument('--mode', choices=['auto', 'torch', 'transformers'], default='auto',
                    help='auto: torch rebuild, plus transformers when installed')
    ap.add_argument('--logits', help='compare against these saved ulysses logits instead of running node')
    ap.add_argument('--save-logits', help='write the ulysses logits used (tokens + logits safetensors) here')
    ap.add_argument('--tol', type=float, default=1e-4, help='largest relative L2 error accepted')
    ap.add_argument('--node', default='node', help='node executable')
    args = ap.parse_args()
    if args.logits and len(args.checkpoints) != 1:
        ap.error('--logits goes with exactly one checkpoint')
    ids = torch.tensor([int(t) for t in args.tokens.split(',')] if args.tokens else list(args.prompt.encode('utf-8')), dtype=torch.long)
    all_ok = True
    for ckpt in args.checkpoints:
        print(f'{ckpt}: {ids.numel()} tokens')
        if args.logits:
            t = read_safetensors(args.logits)
            ids, ours = t['tokens'].long(), t['logits']
        else:
            ids, ours = ulysses_logits(os.path.abspath(ckpt), ids, args.node)
        if args.save_logits:
            with open(args.save_logits, 'wb') as f:
                header = json.dumps({'tokens': {'dtype': 'I32', 'shape': list(ids.shape), 'data_offsets': [0, 4 * ids.numel()]},
                                     'logits': {'dtype': 'F32', 'shape': list(ours.shape), 'data_offsets': [4 * ids.numel(), 4 * ids.numel() + 4 * ours.numel()]}}).encode()
                f.write(struct.pack('<Q', len(header)) + header + ids.int().numpy().tobytes() + ours.float().numpy().tobytes())
        with torch.no_grad():
            all_ok &= compare('torch rebuild from safetensors + config.json', torch_rebuild_logits(ckpt, ids), ours, args.tol)
        if args.mode in ('auto', 'transformers'):
            try:
                import transformers  # noqa: F401
            except ImportError:
                if args.mode == 'transformers':
                    raise SystemExit('transformers is not installed: pip install transformers')
                print('  transformers AutoModelForCausalLM: skipped (transformers is not installed)')
                continue
            all_ok &= compare(f'transformers {transformers.__version__} AutoModelForCausalLM', transformers_logits(ckpt, ids), ours, args.tol)
    print('all checks agree' if all_ok else 'MISMATCH: the checkpoint does not reproduce ulysses\' logits')
    sys.exit(0 if all_ok else 1)


if __name__ == '__main__':
    main()
