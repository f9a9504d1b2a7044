"""Costs of the attribution chapter's scores, each as a ratio against a reference measured in
the same run (so the machine's speed cancels):

* IG for all heads at once (captum, one pass of n_steps batched forward/backward evaluations
  over the [B, N] gates) in plain-forward equivalents, and against a per-head loop;
* exact Shapley's subset enumeration (batched forwards of many gate rows) per subset, against
  one plain forward of the same window: the batching speed-up that makes 2^16 subsets feasible.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from _util import machine

from ptlab.attribution import FamilySpec, eval_set, integrated_gradients
from ptlab.attribution.losses import gated_losses, loss_at, losses_at_many
from ptlab.models import build_model


def per_head_loop(model, es, n_steps: int) -> torch.Tensor:
    """IG of head h alone along its own path (others at 1): N × n_steps forward/backward."""
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


def timed(fn, repeat: int = 1) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main(n_steps: int = 16, n_subsets: int = 4096) -> None:
    spec = FamilySpec.from_profile("quick")
    model = build_model(spec.model_config("ar")).eval()
    N = spec.n_gates
    es = eval_set("code", 64, model)
    print(f"machine: {machine()}")
    forward = timed(lambda: loss_at(model, es), repeat=5)
    t_all = timed(lambda: integrated_gradients(model, es, 0.0, n_steps))
    t_loop = timed(lambda: per_head_loop(model, es, n_steps))
    print(
        f"IG, all {N} heads in one pass ({n_steps} steps, 64 windows × "
        f"{spec.backbone.seq_len}): {t_all:.2f} s = {t_all / forward:.0f} plain forwards "
        f"(one forward {1000 * forward:.0f} ms); per-head loop (reference): {t_loop:.1f} s; "
        f"ratio {t_loop / t_all:.1f}x"
    )
    one = es.subset(1)
    single = timed(lambda: loss_at(model, one), repeat=20)
    rows = (torch.arange(n_subsets)[:, None] >> torch.arange(N)[None, :] & 1).float()
    batched = timed(lambda: losses_at_many(model, one, rows)) / n_subsets
    print(
        f"exact Shapley enumeration, 1 window: {1000 * batched:.2f} ms per subset batched "
        f"({n_subsets} subsets timed) vs {1000 * single:.2f} ms for one plain forward of the "
        f"window; ratio {single / batched:.1f}x; all 2^{N} subsets ≈ {batched * 2**N:.0f} s"
    )


if __name__ == "__main__":
    main()
