"""Cost of Integrated Gradients for all heads at once vs a per-head loop (the reference,
measured in the same run): captum over the [B, N] gates in one pass of n_steps batched
forward/backward evaluations, against N separate IG runs that each move one gate."""

from __future__ import annotations

import time

import torch
from _util import machine

from ptlab.attribution import FamilySpec, eval_set, integrated_gradients
from ptlab.attribution.losses import gated_losses
from ptlab.models import build_model


def per_head_loop(model, es, n_steps: int) -> torch.Tensor:
    """IG of head h alone along its own path (others at 1): N × n_steps forward/backward."""
    import numpy as np

    N = model.cfg.n_gates
    x, w = np.polynomial.legendre.leggauss(n_steps)
    out = torch.zeros(N)
    for h in range(N):
        for sk, wk in zip((1 + x) / 2, w / 2, strict=True):
            a = torch.ones(es.tokens.shape[0], N)
            a[:, h] = float(sk)
            a.requires_grad_(True)
            gated_losses(model, a, *es.args).mean().backward()
            out[h] += wk * a.grad[:, h].sum()
    return out


def main(n_steps: int = 32) -> None:
    spec = FamilySpec.from_profile("quick")
    model = build_model(spec.model_config("ar")).eval()
    es = eval_set("code", 64, model)
    t0 = time.perf_counter()
    integrated_gradients(model, es, 0.0, n_steps)
    t_all = time.perf_counter() - t0
    t0 = time.perf_counter()
    per_head_loop(model, es, n_steps)
    t_loop = time.perf_counter() - t0
    N = spec.n_gates
    print(f"machine: {machine()}")
    print(
        f"IG, all {N} heads in one pass (captum, {n_steps} steps, "
        f"64 windows × {spec.backbone.seq_len}): "
        f"{t_all:.2f} s; per-head loop (reference): {t_loop:.1f} s; ratio {t_loop / t_all:.1f}x"
    )


if __name__ == "__main__":
    main()
