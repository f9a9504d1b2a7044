"""Cost of each switch: training step time of all-on with one switch flipped off, and all-off,
relative to all-on (quick size, one thread, measured in one run). >1 means slower than Llama."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _util import machine, train_step_time  # noqa: E402

from ptlab.models import SWITCHES, all_off, all_on, build_model  # noqa: E402
from ptlab.profiles import PROFILES  # noqa: E402


def step_time(cfg, batch, steps: int) -> float:
    torch.manual_seed(0)
    return train_step_time(build_model(cfg), batch, steps)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    size = PROFILES["quick"]["model"]
    B = PROFILES["quick"]["train"]["batch_size"]
    batch = torch.randint(0, 256, (B, size["seq_len"] + 1))
    print(f"machine: {machine()}; quick size {size}, batch {B}")
    ref = step_time(all_on(**size), batch, args.steps)
    print(f"{'config':34} {'ms/step':>8} {'vs all-on':>9}")
    print(f"{'all-on (Llama)':34} {ref * 1e3:8.2f} {1.0:9.2f}")
    for s in SWITCHES:
        t = step_time(all_on(**size).replace(**{s: False}), batch, args.steps)
        print(f"{'all-on, ' + s + '=off':34} {t * 1e3:8.2f} {t / ref:9.2f}")
    t = step_time(all_off(**size), batch, args.steps)
    print(f"{'all-off (PT)':34} {t * 1e3:8.2f} {t / ref:9.2f}")


if __name__ == "__main__":
    main()
