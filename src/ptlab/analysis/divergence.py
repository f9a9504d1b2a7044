"""Runs that did not finish: how often each switch setting diverges, and what the lost runs do
to the design.

The switch analyses keep only ``status == ok`` runs (``table.prepare``). If one setting of a
switch diverges more often, dropping those runs biases every comparison of that switch (the
note's use_rms_norm claim is about stability), so the rates are reported first, per switch,
with Fisher's exact test (small counts; no normal approximation) and Holm's correction.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ptlab.models import SWITCHES
from ptlab.values import parse_bool

COLUMNS = ("switch", "n_on", "diverged_on", "n_off", "diverged_off", "p_value", "p_adjusted")


def _flags(df: pd.DataFrame, switch: str) -> np.ndarray:
    col = df[switch]
    if col.dtype == bool or pd.api.types.is_integer_dtype(col):
        return col.astype(bool).to_numpy()
    return col.map(parse_bool).astype(bool).to_numpy()


def divergence_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per switch: runs and non-ok runs with it on and off, Fisher's exact two-sided
    p-value of "the non-ok rate differs between on and off", Holm-adjusted over the switches.

    ``df`` is a runs table with a ``status`` column (``ok``, ``diverged``, ``failed``); a
    table without one has no lost runs. p is 1 where no run was lost.
    """
    bad = (df["status"].astype(str) != "ok").to_numpy() if "status" in df else np.zeros(len(df))
    rows = []
    for s in SWITCHES:
        on = _flags(df, s)
        n_on, n_off = int(on.sum()), int((~on).sum())
        d_on, d_off = int(bad[on].sum()), int(bad[~on].sum())
        table = [[d_on, n_on - d_on], [d_off, n_off - d_off]]
        p = float(stats.fisher_exact(table)[1]) if d_on + d_off else 1.0
        rows.append(dict(zip(COLUMNS[:6], (s, n_on, d_on, n_off, d_off, p), strict=True)))
    out = pd.DataFrame(rows, columns=list(COLUMNS[:6]))
    out["p_adjusted"] = multipletests(out["p_value"], method="holm")[1]
    return out


def orthogonality_loss(X: pd.DataFrame) -> float:
    """Largest |correlation| between two columns of the ±1 main-effect and two-way-interaction
    model on these runs: 0 on a complete resolution-V fraction; lost runs make it positive, and
    then each effect estimate leans on the others."""
    pm = 2 * X.astype(float).to_numpy() - 1
    k = pm.shape[1]
    cols = [pm[:, i] for i in range(k)] + [
        pm[:, i] * pm[:, j] for i, j in itertools.combinations(range(k), 2)
    ]
    M = np.column_stack(cols)
    M = M - M.mean(axis=0)
    norm = np.linalg.norm(M, axis=0)
    keep = norm > 0
    C = (M[:, keep].T @ M[:, keep]) / np.outer(norm[keep], norm[keep])
    np.fill_diagonal(C, 0.0)
    return float(np.abs(C).max()) if C.size else 0.0
