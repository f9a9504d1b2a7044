"""Cost of each residual variant: forward + backward time per training step relative to the
baseline (the reference, PTLM with PyTorch's fused attention, measured in the same run), at the
residual study's quick size and at a larger size, beside the FLOPs ratio of the closed form
(``ptlab.models.flops_per_token``). The explicit-softmax baseline (``ResidualLM`` with
``residual="baseline"``) is timed too: every variant uses explicit attention, so the part of a
variant's cost that is only the unfused kernel shows against that row.

    python bench/residual_cost.py [--steps 5] [--threads 1] [--variants v2_m3,mudd]
"""

from __future__ import annotations

import argparse

import torch
from _util import machine, train_step_time

from ptlab.models import RESIDUALS, ResidualLM, all_on, build_model, flops_per_token
from ptlab.profiles import profile_configs


def table(size: dict, batch_size: int, names: list[str], steps: int) -> None:
    base_cfg = all_on(**size)
    batch = torch.randint(0, 256, (batch_size, size["seq_len"] + 1))
    torch.manual_seed(0)
    ref = train_step_time(build_model(base_cfg), batch, steps)
    explicit = train_step_time(ResidualLM(base_cfg), batch, steps)
    f0 = flops_per_token(base_cfg)
    print(f"\nsize {size}, batch {batch_size}; baseline {ref * 1e3:.1f} ms/step")
    print(f"{'variant':22} {'ms/step':>8} {'time ×':>7} {'FLOPs ×':>8}")
    print(f"{'baseline (fused SDPA)':22} {ref * 1e3:8.1f} {1.0:7.2f} {1.0:8.2f}")
    print(f"{'baseline (explicit)':22} {explicit * 1e3:8.1f} {explicit / ref:7.2f} {1.0:8.2f}")
    for name in names:
        cfg = base_cfg.replace(residual=name)
        torch.manual_seed(0)
        t = train_step_time(build_model(cfg), batch, steps)
        print(f"{name:22} {t * 1e3:8.1f} {t / ref:7.2f} {flops_per_token(cfg) / f0:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", default="", help="comma-separated; default all")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = [n for n in (args.variants.split(",") if args.variants else RESIDUALS) if n]
    names = [n for n in names if n != "baseline"]
    quick_m, quick_t = profile_configs("quick", study="residual")
    quick = {k: getattr(quick_m, k) for k in ("d_model", "n_layers", "n_heads", "seq_len")}
    larger = dict(d_model=128, n_layers=8, n_heads=4, seq_len=128)
    print(f"machine: {machine()}")
    table(quick, quick_t.batch_size, names, args.steps)
    table(larger, 16, names, max(1, args.steps // 2))


if __name__ == "__main__":
    main()
