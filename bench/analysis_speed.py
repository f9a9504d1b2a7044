"""Speed of the switch analysis on a 1024-run table (the full 2^10 design).

Reference measured in the same run: the triple scan with one predict call per (triple, run),
against the vectorised scan (all 120 × 8 × rows inputs in one call). Also the whole
``ptlab.analysis.analyze`` wall time.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
from _util import machine

from ptlab.analysis import analyze, prepare
from ptlab.analysis import interactions as inter
from ptlab.models import SWITCHES


def table(seed: int = 0) -> pd.DataFrame:
    X = pd.DataFrame(list(itertools.product([0, 1], repeat=10)), columns=list(SWITCHES))
    rng = np.random.default_rng(seed)
    pm = (2 * X - 1).to_numpy()
    y = 2 + pm @ rng.normal(0, 0.05, 10) + 0.05 * pm[:, 0] * pm[:, 2] * pm[:, 3]
    return X.assign(**{"eval/loss": y + rng.normal(0, 0.02, len(X))})


def main(n_rows: int = 200) -> None:
    t = prepare(table())
    start = time.perf_counter()
    a = analyze(t, n_rows=n_rows)
    whole = time.perf_counter() - start
    start = time.perf_counter()
    fast = inter.triple_strengths(a.model, t.X, n_rows=n_rows)
    t_fast = time.perf_counter() - start
    start = time.perf_counter()
    slow = inter.triple_strengths_loop(a.model, t.X, n_rows=n_rows)
    t_slow = time.perf_counter() - start
    m = fast.merge(slow, on=["switch1", "switch2", "switch3"])
    err = float(np.abs(m.model_interaction_strength_x - m.model_interaction_strength_y).max())
    print(f"machine: {machine()}")
    print(f"whole analysis of {t.n} runs (n_rows={n_rows}): {whole:.1f} s")
    print(
        f"triple scan, vectorised: {t_fast:.2f} s; per-row loop (reference): {t_slow:.1f} s; "
        f"speed-up {t_slow / t_fast:.0f}x; max abs difference {err:.1e}"
    )


if __name__ == "__main__":
    main()
