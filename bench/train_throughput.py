"""Training throughput of ptlab's all-on model vs transformers' LlamaForCausalLM, as the sweeps
run it, and what the fused kernels cost.

ptlab: the training loop's own step (``ptlab.train.batch_loss`` + ``update``: the fused CPU
kernels, fused AdamW, clipped gradients). HF: ``LlamaForCausalLM`` (sdpa, same dims) in a plain
PyTorch loop with the same AdamW settings and clipping, PyTorch's default AdamW implementation;
two reference rows more: HF given ptlab's optimiser implementation (fused AdamW, foreach
clipping), and ptlab on its eager fallback (no compiler). Same batch, same threads.

Modes: ``1 thread`` (one process); ``sweep 2x1``: two worker processes of one thread each,
side by side, as ``ptlab sweep`` runs on 2 cores (each phase starts on both at once and lasts
until both finish). Phases are interleaved (ptlab, HF, ...) and repeated, so background load hits
all alike; each ratio is HF time / ptlab time within one repeat, reported as the median and the
range over repeats.

Usage: python bench/train_throughput.py [--repeats 5] [--sizes quick,larger] [--modes 1,2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _util import machine, matmul_peak_flops  # noqa: E402

from ptlab.models import all_on, build_model, flops_per_token, fused  # noqa: E402
from ptlab.models.reference import hf_llama  # noqa: E402
from ptlab.train import TrainConfig, batch_loss, make_optimizer, update  # noqa: E402

SIZES = {  # steps per phase: about a second of work each
    "quick": dict(d_model=64, n_layers=2, n_heads=4, seq_len=64, batch=16, steps=60),
    "larger": dict(d_model=256, n_layers=4, n_heads=8, seq_len=256, batch=8, steps=6),
}
KINDS = ("ptlab", "hf", "hf_fused_adamw", "ptlab_eager")
TRAIN = TrainConfig(lr=5e-3)


def runner(kind: str, size: str):
    """A function that trains ``steps`` steps of ``kind`` on a fixed batch."""
    s = dict(SIZES[size])
    B = s.pop("batch")
    s.pop("steps")
    cfg = all_on(**s)
    torch.manual_seed(0)
    batch = torch.randint(0, 256, (B, cfg.seq_len + 1))
    if kind.startswith("ptlab"):
        model = build_model(cfg)
        opt, params = make_optimizer(model, TRAIN), list(model.parameters())

        def step():
            loss = batch_loss(model, batch, 0, 0)
            update(opt, params, loss, TRAIN)
            loss.item()

        if kind == "ptlab_eager":

            def step_eager(inner=step):
                with fused.reference():
                    inner()

            return step_eager
        return step
    model = hf_llama(cfg)
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2]
    groups = [
        {"params": decay, "weight_decay": TRAIN.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fast = kind == "hf_fused_adamw"
    opt = torch.optim.AdamW(
        groups, lr=TRAIN.lr, betas=(TRAIN.beta1, TRAIN.beta2), eps=TRAIN.adam_eps, fused=fast
    )

    def step():
        logits = model(batch[:, :-1]).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, TRAIN.grad_clip, foreach=fast or None)
        opt.step()
        loss.item()

    return step


def timed(step, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t


def phases(size: str, repeats: int, barrier=None, out=None) -> dict[str, list[float]]:
    """Seconds per phase of every kind, interleaved, ``repeats`` times (a barrier syncs the
    sweep mode's workers at every phase start)."""
    torch.set_num_threads(1)
    steps = SIZES[size]["steps"]
    fns = {k: runner(k, size) for k in KINDS}
    for fn in fns.values():  # warm-up: first-call allocations, the kernels' load
        timed(fn, 2)
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    for _ in range(repeats):
        for k in KINDS:
            if barrier is not None:
                barrier.wait()
            times[k].append(timed(fns[k], steps))
    if out is not None:
        out.put(times)
    return times


def sweep_mode(size: str, repeats: int, workers: int = 2) -> dict[str, list[float]]:
    """``workers`` one-thread processes side by side; a phase lasts until both finish."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=phases, args=(size, repeats, barrier, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return {k: [max(r[k][i] for r in results) for i in range(repeats)] for k in KINDS}


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def report(size: str, mode: str, times: dict[str, list[float]], workers: int, peak: float):
    s = SIZES[size]
    tokens = workers * s["steps"] * s["batch"] * s["seq_len"]
    best = {k: min(v) for k, v in times.items()}
    ratio = {k: [h / p for h, p in zip(times[k], times["ptlab"], strict=True)] for k in KINDS}
    cfg = all_on(**{k: v for k, v in s.items() if k not in ("batch", "steps")})
    mfu = flops_per_token(cfg) * tokens / best["ptlab"] / (workers * peak)
    print(
        f"{size:7} {mode:10} {tokens / best['ptlab']:9.0f} {tokens / best['hf']:9.0f}  "
        f"{spread(ratio['hf']):17} {spread(ratio['hf_fused_adamw']):17} "
        f"{spread(ratio['ptlab_eager']):17} {mfu:5.0%}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default="quick,larger")
    ap.add_argument("--modes", default="1,2", help="1: one thread; 2: two 1-thread workers")
    args = ap.parse_args()
    torch.set_num_threads(1)
    info = fused.build_info()
    load = os.getloadavg()
    peak = matmul_peak_flops()
    print(
        f"machine: {machine()}; load average {load[0]:.1f}; 1-thread fp32 matmul peak "
        f"{peak / 1e9:.0f} GFLOP/s"
    )
    if info:
        print(
            f"fused kernels: built once per machine in {info.get('build_s', '?')} s "
            f"({info.get('built_at', 'earlier')}), loaded in {1e3 * info['load_s']:.0f} ms "
            "per process"
        )
    else:
        print("fused kernels: not available here (ptlab runs its eager fallback)")
    print("ratios are HF time / ptlab time per repeat: median (min-max)")
    print(
        f"{'size':7} {'mode':10} {'ptlab t/s':>9} {'HF t/s':>9}  {'HF / ptlab':17} "
        f"{'HF+fusedAdamW / p':17} {'eager p / p':17} {'MFU':>5}"
    )
    for size in args.sizes.split(","):
        for mode in args.modes.split(","):
            if mode == "1":
                report(size, "1 thread", phases(size, args.repeats), 1, peak)
            else:
                report(size, "sweep 2x1", sweep_mode(size, args.repeats), 2, peak)
    end = os.getloadavg()
    print(f"load average at the end: {end[0]:.1f} (1 min), {end[1]:.1f} (5 min)")


if __name__ == "__main__":
    main()
