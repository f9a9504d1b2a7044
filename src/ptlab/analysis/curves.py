"""Training length: is the ranking at the last evaluation already the ranking earlier on?

A sweep trains every config for the same short budget. If the order of the configs (or of the
switches' main effects) still changes between the last evaluations, a longer budget could
change the conclusions; the stored curves (eval every ``eval_every`` steps) answer this.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ptlab.models import SWITCHES


def ranking_over_training(curves: pd.DataFrame, metric: str = "eval_loss") -> pd.DataFrame:
    """step, config_rho (with a Fisher-z 95% interval, Fieller–Hartley–Pearson variance:
    config_low, config_high), effect_rho.

    ``curves`` is ``sweep.curves_frame`` (one row per run and evaluation step). config_rho is
    Spearman's ρ between the runs' ``metric`` at each step and at the last step; effect_rho is
    ρ between the ten switches' |main effects| (mean with the switch on − off) at that step and
    at the last one. Only runs evaluated at every step count.
    """
    wide = curves.pivot_table(index="run_id", columns="step", values=metric).dropna()
    if wide.shape[1] < 2 or len(wide) < 4:
        raise ValueError("the ranking over training needs ≥ 4 runs evaluated at ≥ 2 steps")
    flags = curves.drop_duplicates("run_id").set_index("run_id").loc[wide.index, list(SWITCHES)]
    last = wide.columns.max()

    def effects(col: pd.Series) -> np.ndarray:
        return np.array([abs(col[flags[s]].mean() - col[~flags[s]].mean()) for s in SWITCHES])

    final = effects(wide[last])
    rows = []
    # Fieller, Hartley & Pearson (1957): var(atanh ρ_Spearman) ≈ 1.06 / (n − 3)
    z_half = stats.norm.ppf(0.975) * np.sqrt(1.06 / max(len(wide) - 3, 1))
    for step in wide.columns:
        rho = float(stats.spearmanr(wide[step], wide[last])[0])
        z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
        rows.append(
            {
                "step": int(step),
                "config_rho": rho,
                "config_low": float(np.tanh(z - z_half)),
                "config_high": float(np.tanh(z + z_half)),
                "effect_rho": float(stats.spearmanr(effects(wide[step]), final)[0]),
            }
        )
    return pd.DataFrame(rows)
