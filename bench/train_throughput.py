"""Training tokens/s of ptlab's all-on model vs transformers' LlamaForCausalLM, and MFU.

Same dims, batch, optimizer (AdamW) and thread count, measured in one run. Prints the ratio
ptlab / HF (target >= 1.0) and achieved FLOP/s against this machine's measured fp32 matmul peak.
Usage: python bench/train_throughput.py [--steps 30]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _util import best_of, machine, matmul_peak_flops  # noqa: E402

from ptlab.models import all_on, build_model, flops_per_token, n_params  # noqa: E402
from ptlab.models.reference import hf_llama  # noqa: E402

SIZES = {
    "quick": dict(d_model=64, n_layers=2, n_heads=4, seq_len=64, batch=16),
    "larger": dict(d_model=256, n_layers=4, n_heads=8, seq_len=256, batch=8),
}


def steps_fn(model, batch, steps, hf: bool):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def run():
        for _ in range(steps):
            logits = model(batch[:, :-1]).logits if hf else model(batch[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    peak = matmul_peak_flops()
    print(f"machine: {machine()}; measured fp32 matmul peak {peak / 1e9:.1f} GFLOP/s")
    print(f"{'size':8} {'params':>9} {'ptlab tok/s':>12} {'HF tok/s':>10} {'ratio':>6} {'MFU':>6}")
    for name, s in SIZES.items():
        s = dict(s)
        B = s.pop("batch")
        cfg = all_on(**s)
        torch.manual_seed(0)
        batch = torch.randint(0, 256, (B, cfg.seq_len + 1))
        ours, ref = build_model(cfg), hf_llama(cfg)
        tokens = args.steps * B * cfg.seq_len
        t_ours = best_of(steps_fn(ours, batch, args.steps, hf=False))
        t_ref = best_of(steps_fn(ref, batch, args.steps, hf=True))
        achieved = flops_per_token(cfg) * tokens / t_ours
        print(
            f"{name:8} {n_params(ours):9d} {tokens / t_ours:12.0f} {tokens / t_ref:10.0f} "
            f"{t_ref / t_ours:6.2f} {achieved / peak:6.1%}"
        )


if __name__ == "__main__":
    main()
