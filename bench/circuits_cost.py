"""Cost of the circuits chapter's pieces at the quick profile's sizes, as ratios to a reference
measured in the same run: each model's training step (top-k projection included) against the
dense d = 32 step, and the pruning's units (one mask-learning step, one masked forward over
the pruning pairs, one calibration fit, one attribution pass) against a plain forward of the
widest model over the same pairs. The chapter's time is roughly: training steps × models ×
seeds, then per pruning (3 phases × steps) mask steps + (bisections + cleanup) masked forwards.

    python bench/circuits_cost.py [--steps 5] [--threads 1] [--profile quick]
"""

from __future__ import annotations

import argparse
import dataclasses

import torch
from _util import best_of, machine

from ptlab.circuits import CircuitsSpec
from ptlab.circuits import prune as pr
from ptlab.circuits.family import sparsifier
from ptlab.circuits.model import CircuitModel, NodeIndex
from ptlab.circuits.study import task_data
from ptlab.train import batch_loss, make_optimizer, normalise_gradients


def train_step_seconds(spec: CircuitsSpec, m, steps: int) -> float:
    torch.manual_seed(0)
    model = CircuitModel(spec.config(m))
    hook = sparsifier(spec, m, model)
    cfg = spec.train_for(m)
    opt = make_optimizer(model, cfg)
    params = list(model.parameters())
    batch = torch.randint(0, 256, (cfg.batch_size, spec.model.seq_len + 1))

    def step():
        loss = batch_loss(model, batch, 0, 0)
        opt.zero_grad()
        loss.backward()
        normalise_gradients(params, cfg)
        opt.step()
        if hook is not None:
            hook(model, cfg.steps - 1)  # at the final L0

    return min(best_of(step) for _ in range(steps))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--profile", default="quick")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spec = CircuitsSpec.from_profile(args.profile)
    print(f"circuits cost ({args.profile} sizes) on {machine()}")

    times = {m.name: train_step_seconds(spec, m, args.steps) for m in spec.models}
    ref_name = min((m for m in spec.models if m.kind == "dense"), key=lambda m: abs(m.d_model - 32))
    ref = times[ref_name.name]
    print(f"\ntraining step, relative to {ref_name.name} ({ref * 1e3:.1f} ms)")
    for name, t in times.items():
        print(f"  {name:24} {t * 1e3:8.1f} ms  {t / ref:6.2f}×")

    widest = max(spec.models, key=lambda m: (m.d_model, -m.l0))
    model = CircuitModel(spec.config(widest)).eval()
    ts = task_data(spec, "cpu", (spec.tasks[0],))[spec.tasks[0]].prune
    batches = [torch.randint(0, 256, (8, spec.model.seq_len)) for _ in range(2)]
    means = pr.node_means(model, batches)
    n = NodeIndex(model.cfg).n
    keep = torch.ones(n, dtype=torch.bool)
    with torch.no_grad():
        plain = best_of(lambda: model(ts.tokens))
    masked = best_of(lambda: pr.kept_logits(model, ts, means, keep))
    two = pr.kept_logits(model, ts, means, keep)
    fit = best_of(lambda: pr.fit_calibration(two, ts.first))
    attribution = best_of(lambda: pr.importance(model, ts, means, keep))
    cfg = spec.prune
    five = dataclasses.replace(cfg, steps=5)
    mask_steps = best_of(lambda: pr.learn_phase(model, ts, means, five, pr.init_tau(n, 0), 1e-3, 0))
    mask_steps /= 5
    print(
        f"\npruning units for {widest.name} over {len(ts)} prompts, relative to a plain "
        f"forward ({plain * 1e3:.1f} ms)"
    )
    for name, t in (
        ("masked forward", masked),
        ("calibration fit", fit),
        ("attribution (fwd + bwd)", attribution),
        (f"mask step ({cfg.batch_pairs} pairs)", mask_steps),
    ):
        print(f"  {name:24} {t * 1e3:8.1f} ms  {t / plain:6.2f}×")


if __name__ == "__main__":
    main()
