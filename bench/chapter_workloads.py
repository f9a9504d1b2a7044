"""The chapters' own training workloads, timed with this checkout and with a reference, in one
run: each workload runs in a fresh process, alternating (reference, this, reference, this, ...)
so that background load hits both alike; the ratio is reference time / this time.

Reference: this checkout with ``PTLAB_FUSED=0`` (the eager fallback), or with ``--before SRC``
another checkout's ``src`` directory (e.g. ``git worktree add /tmp/before main``), which is how
the README's before/after numbers were measured.

Workloads (quick profile, 2 workers x 1 thread where the chapter runs a sweep):
  sweep      16 of the fractional design's 128 configs (every 8th), 500 steps, seed 0
  residual   7 residual variants (baseline, v1_m3, v3_m2, v4_m1, v4_m1d, denseformer, mudd),
             seed 0, the residual section (4 layers, 300 steps) with the chapter's measure hook
  attribution the AR / LLaDA / Dream family of one seed (1 thread, 600 + 600 + 300 steps)
  circuits   one dense (d 64) and one sparse (d 96, L0 1/4) circuits model, 300 steps each
Usage: python bench/chapter_workloads.py [--workloads sweep,residual] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

WORKLOADS = ("sweep", "residual", "attribution", "circuits")
RESIDUAL_SUBSET = ("baseline", "v1_m3", "v3_m2", "v4_m1", "v4_m1d", "denseformer", "mudd")


def workload(name: str, results: str) -> None:
    """Run one workload here (called in a fresh process)."""
    import torch

    from ptlab.sweep import make_design, plan_runs, run_sweep

    if name == "sweep":
        rows = make_design("fractional")[::8]
        specs = plan_runs("bench-sweep", rows, profile="quick", results_dir=results)
        run_sweep(specs, "local", workers=2, threads=1, progress=False)
    elif name == "residual":
        from ptlab.residual import MEASURE, design

        specs = plan_runs(
            "bench-residual",
            design(list(RESIDUAL_SUBSET)),
            profile="quick",
            results_dir=results,
            section="residual",
            measure=MEASURE,
        )
        run_sweep(specs, "local", workers=2, threads=1, progress=False)
    elif name == "attribution":
        from ptlab.attribution.family import FamilySpec, train_family

        torch.set_num_threads(1)
        train_family(FamilySpec.from_profile("quick"), seed=0, cache_dir=None, progress=False)
    elif name == "circuits":
        from ptlab.circuits.family import CircuitsSpec, train_one

        torch.set_num_threads(1)
        spec = CircuitsSpec.from_profile("quick", steps=300)
        for m in (spec.models[2], spec.models[3]):
            train_one(spec, m, seed=0)
    else:
        raise SystemExit(f"unknown workload {name!r}; allowed: {', '.join(WORKLOADS)}")


def timed_process(name: str, env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as results:
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--run", name, "--results", results],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--before", help="src dir of the reference checkout (default: eager)")
    ap.add_argument("--run", help=argparse.SUPPRESS)
    ap.add_argument("--results", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        workload(args.run, args.results)
        return
    this = dict(os.environ)
    ref = dict(os.environ)
    if args.before:
        ref["PYTHONPATH"] = os.pathsep.join(filter(None, [args.before, ref.get("PYTHONPATH")]))
        label = f"before ({args.before})"
    else:
        ref["PTLAB_FUSED"] = "0"
        label = "eager fallback (PTLAB_FUSED=0)"
    print(f"reference: {label}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'workload':12} {'reference s':>12} {'this s':>8} {'ratio':>6}  per repeat")
    for name in args.workloads.split(","):
        ref_t, this_t = [], []
        for _ in range(args.repeats):
            ref_t.append(timed_process(name, ref))
            this_t.append(timed_process(name, this))
        ratios = [r / t for r, t in zip(ref_t, this_t, strict=True)]
        print(
            f"{name:12} {min(ref_t):12.1f} {min(this_t):8.1f} {min(ref_t) / min(this_t):6.2f}  "
            + " ".join(f"{r:.2f}" for r in ratios),
            flush=True,
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
