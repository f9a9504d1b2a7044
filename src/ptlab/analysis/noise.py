"""Seed noise: per-config mean, standard deviation and 95% CI over replicate seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ptlab.models import SWITCHES


def config_label(row: pd.Series | dict) -> str:
    """Compact config name: ``all-off``, ``all-on`` or its on-bits in SWITCHES order."""
    bits = [bool(row[s]) for s in SWITCHES]
    if not any(bits):
        return "all-off"
    if all(bits):
        return "all-on"
    return "".join("1" if b else "0" for b in bits)


def seed_noise(df: pd.DataFrame, metric: str = "eval/loss") -> pd.DataFrame:
    """One row per switch config with >= 1 ok run: n, mean, std (ddof=1), and a t-based 95% CI."""
    ok = df[df["status"] == "ok"]
    rows = []
    for key, g in ok.groupby(list(SWITCHES), sort=False):
        v = g[metric].to_numpy(dtype=float)
        n = len(v)
        sd = float(np.std(v, ddof=1)) if n > 1 else float("nan")
        half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
        rows.append(
            {
                "config": config_label(dict(zip(SWITCHES, key, strict=True))),
                "n": n,
                "mean": float(v.mean()),
                "std": sd,
                "ci_low": float(v.mean()) - half,
                "ci_high": float(v.mean()) + half,
            }
        )
    return pd.DataFrame(rows, columns=["config", "n", "mean", "std", "ci_low", "ci_high"])
