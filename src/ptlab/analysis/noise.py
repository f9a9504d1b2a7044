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


ANCHOR_NAMES = {  # the four anchors of ``sweep.designs.anchors_design``, for readers
    "all-off": "全关 · all off (PT)",
    "all-on": "全开 · all on (Llama)",
    "1111100000": "前五个开 · first five on",
    "0000011111": "后五个开 · last five on",
}


def anchor_name(label: str) -> str:
    """A config label (``config_label``) as readers see it: the anchors by name, any other
    config by the short names of its switches that are on."""
    if label in ANCHOR_NAMES:
        return ANCHOR_NAMES[label]
    from ptlab.models import short_name

    return ", ".join(short_name(s) for s, b in zip(SWITCHES, label, strict=True) if b == "1")


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


def replicate_subset(rows: list[dict], fraction: float = 0.1, seed: int = 0) -> list[dict]:
    """A random ``fraction`` of the design's configs (at least one, rounded up), to be trained
    again under new seeds so that pure error and lack of fit are estimated on the design itself."""
    if not 0 < fraction <= 1:
        raise ValueError(f"replicate fraction must be in (0, 1], got {fraction}")
    k = max(1, int(np.ceil(fraction * len(rows))))
    pick = np.random.default_rng(seed).choice(len(rows), k, replace=False)
    return [rows[i] for i in sorted(pick)]


def heteroscedasticity(df: pd.DataFrame, metric: str = "eval/loss") -> dict:
    """Do the replicated configs share one seed variance? Brown–Forsythe across the configs
    with ≥ 2 runs: statistic, p_value, its degrees of freedom (df_between = groups − 1,
    df_within = runs in those groups − groups), the group sizes (size_min, size_max), and the
    largest / smallest sd (sd_ratio)."""
    ok = df[df["status"] == "ok"].drop_duplicates("run_id")
    groups = [g[metric].to_numpy(float) for _, g in ok.groupby(list(SWITCHES)) if len(g) >= 2]
    if len(groups) < 2:
        raise ValueError("the heteroscedasticity test needs at least two replicated configs")
    stat, p = stats.levene(*groups, center="median")
    sds = np.array([g.std(ddof=1) for g in groups])
    return {
        "statistic": float(stat),
        "p_value": float(p),
        "n_groups": len(groups),
        "df_between": len(groups) - 1,
        "df_within": int(sum(len(g) for g in groups) - len(groups)),
        "size_min": int(min(len(g) for g in groups)),
        "size_max": int(max(len(g) for g in groups)),
        "sd_min": float(sds.min()),
        "sd_max": float(sds.max()),
        "sd_ratio": float(sds.max() / sds.min()),
    }
