"""Shared helpers for the benchmarks: the machine's measured matmul peak, timing, printing."""

from __future__ import annotations

import platform
import time

import torch


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch "
        f"threads, torch {torch.__version__}"
    )


def matmul_peak_flops(n: int = 1024, repeats: int = 20) -> float:
    """Best-of-`repeats` fp32 FLOP/s of an n x n matmul: this machine's practical peak."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def best_of(fn, repeats: int = 3) -> float:
    """Minimum wall time of `fn()` over `repeats` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def train_step_time(model, batch, steps: int) -> float:
    """Best-of-3 seconds per training step on a fixed batch: the training loop's own step
    (forward, loss, backward, clipped gradients, AdamW: ``ptlab.train.update``)."""
    from ptlab.train import TrainConfig, batch_loss, make_optimizer, update

    cfg = TrainConfig()
    opt, params = make_optimizer(model, cfg), list(model.parameters())

    def run():
        for _ in range(steps):
            loss = batch_loss(model, batch, seed=0, step=0)
            update(opt, params, loss, cfg)
            loss.item()

    return best_of(run) / steps
