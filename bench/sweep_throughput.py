"""Sweep throughput: runs/hour of the local executor (one 1-thread worker per core) vs a serial
loop in one process using all cores' threads, over the same runs, measured in one run."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import torch

from ptlab.sweep import make_design, plan_runs, run_sweep
from ptlab.sweep.runner import execute_run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=100)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    tmp = tempfile.mkdtemp()
    try:

        def plan(sub):
            return plan_runs(
                "bench",
                make_design("random", n=args.runs),
                profile="quick",
                overrides={"steps": args.steps, "eval_every": args.steps},
                results_dir=os.path.join(tmp, sub),
            )

        t = time.perf_counter()
        torch.set_num_threads(cores)
        for spec in plan("serial"):
            execute_run(spec, threads=cores)
        serial = time.perf_counter() - t
        t = time.perf_counter()
        run_sweep(plan("pool"), "local", workers=cores, threads=1, progress=False)
        pool = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp)
    print(f"{args.runs} quick-size runs of {args.steps} steps on {cores} cores")
    print(f"serial loop ({cores} threads): {3600 * args.runs / serial:7.1f} runs/hour")
    print(f"local executor ({cores} x 1 thread): {3600 * args.runs / pool:7.1f} runs/hour")
    print(f"ratio local / serial: {serial / pool:.2f}")


if __name__ == "__main__":
    main()
