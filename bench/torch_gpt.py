"""PyTorch CPU eager baseline for `npm run bench -- torch`: the reference GPT, one process per length.

Usage: /usr/bin/python3 bench/torch_gpt.py --seq-len 4096 --steps 2 --warmup 1 --threads 2 --mem-cap-gb 16

Prints one JSON line on stdout: status ("ok" | "oom"), step seconds, tokens/s and peak RSS.
The model mirrors ulysses' GPT (pre-LN, learned positions, GELU tanh, tied embeddings, AdamW).
Attention is written by hand (q @ k^T, causal mask, softmax, @ v) because torch 1.13 has no
scaled_dot_product_attention; scaling and masking are done in place, which only helps torch.
"""

import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int, eps: float):
        super().__init__()
        self.n_heads = n_heads
        self.ln_1 = nn.LayerNorm(d_model, eps=eps)
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)
        self.ln_2 = nn.LayerNorm(d_model, eps=eps)
        self.c_fc = nn.Linear(d_model, d_ff)
        self.mlp_proj = nn.Linear(d_ff, d_model)

    def attention(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        hd = c // self.n_heads
        q = q.view(b, t, self.n_heads, hd).transpose(1, 2)
        k = k.view(b, t, self.n_heads, hd).transpose(1, 2)
        v = v.view(b, t, self.n_heads, hd).transpose(1, 2)
        att = q @ k.transpose(-2, -1)
        att.mul_(1.0 / math.sqrt(hd))
        att.masked_fill_(mask, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln_1(x), mask)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab: int, seq_len: int, d_model: int, n_layers: int, n_heads: int, d_ff: int):
        super().__init__()
        self.wte = nn.Embedding(vocab, d_model)
        self.wpe = nn.Embedding(seq_len, d_model)
        self.h = nn.ModuleList([Block(d_model, n_heads, d_ff, 1e-5) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(d_model, eps=1e-5)
        # One shared boolean mask (True = hidden) instead of a float buffer per layer.
        self.register_buffer("mask", torch.ones(seq_len, seq_len, dtype=torch.bool).triu_(1), persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for block in self.h:
            x = block(x, self.mask[:t, :t])
        logits = F.linear(self.ln_f(x), self.wte.weight)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def maxrss_bytes() -> int:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mem-cap-gb", type=float, default=0.0, help="address-space cap so an OOM fails fast")
    args = ap.parse_args()

    if args.mem_cap_gb > 0:
        cap = int(args.mem_cap_gb * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n = args.seq_len
    result = {"impl": "torch", "version": torch.__version__, "N": n, "threads": torch.get_num_threads()}
    try:
        model = GPT(256, n, 256, 4, 8, 1024)
        # Weight decay on matrices except the position table, as ulysses' GPT declares it.
        decay = [p for name, p in model.named_parameters() if p.dim() >= 2 and not name.startswith("wpe")]
        no_decay = [p for name, p in model.named_parameters() if p.dim() < 2 or name.startswith("wpe")]
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
            lr=3e-4, betas=(0.9, 0.95), eps=1e-8,
        )
        tokens = torch.randint(0, 256, (1, n + 1))
        idx, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
        result["params"] = sum(p.numel() for p in model.parameters())
        result["baseline_rss_bytes"] = maxrss_bytes()
        if args.warmup == 0:
            # A short untimed step still pays torch's one-time costs (lazy init, AdamW state) when a full one is too long.
            short = min(n, 256)
            opt.zero_grad(set_to_none=True)
            model(idx[:, :short], targets[:, :short]).backward()
            opt.step()
        times = []
        loss = float("nan")
        for step in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            out = model(idx, targets)
            out.backward()
            opt.step()
            dt = time.perf_counter() - t0
            loss = out.item()
            if step >= args.warmup:
                times.append(dt)
        times.sort()
        step_s = times[len(times) // 2]
        result.update(status="ok", step_s=step_s, step_times_s=times, tokens_per_s=n / step_s, loss=loss)
    except (RuntimeError, MemoryError) as err:
        msg = str(err)
        if isinstance(err, MemoryError) or "memory" in msg.lower() or "alloc" in msg.lower():
            result.update(status="oom", error=msg.splitlines()[0][:200] if msg else "MemoryError")
        else:
            raise
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_rss_bytes"] = usage.ru_maxrss * 1024
    # User and system CPU seconds of the whole process: eager torch spends much of a long step in page faults.
    result["cpu_user_s"] = usage.ru_utime
    result["cpu_sys_s"] = usage.ru_stime
    result["mem_cap_gb"] = args.mem_cap_gb
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
