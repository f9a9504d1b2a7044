"""Paired comparisons of the residual study, by one rule.

Every variant trains with the same seeds, batch order and steps as the baseline, so a seed's
runs form a pair. A comparison of ``a`` with ``b`` is the mean over seeds of
d_s = metric(a, s) − metric(b, s), a contrast of several variants is the mean of their per-seed
values. A claim of the lab's Note 3 is a *family* of k such comparisons; within it:

* p-values are paired t tests, adjusted by Holm's step-down method (``statsmodels``);
* each interval is the t interval at level 1 − 0.05/k (Bonferroni, Holm's first step), so an
  interval that excludes 0 is a Holm rejection for the smallest p-value and never claims more;
* the smallest detectable effect is the 80 %-power effect at level 0.05/k for the measured sd
  of the differences (``ptlab.verdict.detectable_effect``).

Shown in: chapter *residual*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ptlab.verdict import detectable_effect

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b`` over paired seeds (a contrast when ``a`` names several variants)."""

    a: str
    b: str
    n: int  # paired seeds
    estimate: float  # mean of metric(a) − metric(b)
    sd: float  # sd of the per-seed differences
    low: float  # interval at level 1 − ALPHA / k
    high: float
    p: float  # paired t, two-sided, unadjusted
    p_holm: float  # Holm-adjusted within its claim
    detectable: float  # smallest |effect| detected with 80 % power at level ALPHA / k
    k: int  # comparisons in the claim


def per_seed(runs: pd.DataFrame, variants: str | tuple[str, ...], metric: str) -> pd.Series:
    """metric by seed of one variant, or the mean over several (a contrast's side)."""
    names = (variants,) if isinstance(variants, str) else tuple(variants)
    ok = runs[(runs["status"] == "ok") & runs["residual"].isin(names)]
    wide = ok.pivot_table(index="seed", columns="residual", values=metric, aggfunc="mean")
    if set(names) - set(wide.columns):
        return pd.Series(dtype=float)
    return wide[list(names)].dropna().mean(axis=1)


def differences(runs, a, b, metric: str = "eval/loss") -> np.ndarray:
    """d_s = metric(a, s) − metric(b, s) over the seeds both sides have (b None: metric(a, s),
    for a metric that is already a within-run contrast, e.g. a log time ratio)."""
    x = per_seed(runs, a, metric)
    if b is None:
        return x.to_numpy(dtype=float)
    y = per_seed(runs, b, metric)
    seeds = x.index.intersection(y.index)
    return (x.loc[seeds] - y.loc[seeds]).to_numpy(dtype=float)


def _label(v) -> str:
    if v is None:
        return "0"
    return v if isinstance(v, str) else "+".join(v)


def compare(runs: pd.DataFrame, pairs: list[tuple], metric: str = "eval/loss") -> list[Comparison]:
    """One claim's comparisons (Holm within them). ``pairs`` are (a, b); either side may be a
    tuple of variants (their per-seed mean), and b may be None (``differences``)."""
    k = max(1, len(pairs))
    raw = []
    for a, b in pairs:
        d = differences(runs, a, b, metric)
        raw.append((a, b, d[np.isfinite(d)]))
    ps = [_p_value(d) for _, _, d in raw]
    finite = [i for i, p in enumerate(ps) if math.isfinite(p)]
    holm = [float("nan")] * len(ps)
    if finite:
        adj = multipletests([ps[i] for i in finite], method="holm")[1]
        for i, p in zip(finite, adj, strict=True):
            holm[i] = float(p)
    out = []
    for (a, b, d), p, ph in zip(raw, ps, holm, strict=True):
        n = len(d)
        est = float(d.mean()) if n else float("nan")
        sd = float(d.std(ddof=1)) if n > 1 else float("nan")
        if n > 1:
            se = sd / math.sqrt(n)
            half = float(stats.t.ppf(1 - ALPHA / (2 * k), n - 1) * se)
            mde = detectable_effect(se, n - 1, ALPHA / k)
        else:
            half = mde = float("nan")
        out.append(
            Comparison(_label(a), _label(b), n, est, sd, est - half, est + half, p, ph, mde, k)
        )
    return out


def _p_value(d: np.ndarray) -> float:
    if len(d) < 2 or np.std(d, ddof=1) == 0:
        return float("nan")
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def family_outcome(comparisons: list[Comparison], sign: int, margin: float = 0.0) -> str:
    """The claim's word from its comparisons, all claimed of one ``sign`` (−1: a lower metric,
    +1 higher, 0 negligible within ±margin): supported when every comparison is, contradicted
    when any is, undetermined otherwise (see ``ptlab.verdict.outcome``)."""
    from ptlab.verdict import outcome

    words = [outcome(c.low, c.high, sign, margin) for c in comparisons]
    if not words:
        return "undetermined"
    if "contradicted" in words:
        return "contradicted"
    if all(w == "supported" for w in words):
        return "supported"
    return "undetermined"


def pooled_paired_sd(runs: pd.DataFrame, variants: list[str], metric: str = "eval/loss") -> dict:
    """The sd of paired differences (variant − baseline) pooled over ``variants`` (each
    contributes n − 1 degrees of freedom): the screen's noise that the power calculation uses.
    Returns sd, dof and the number of variants."""
    ss, dof, used = 0.0, 0, 0
    for v in variants:
        d = differences(runs, v, "baseline", metric)
        d = d[np.isfinite(d)]
        if len(d) > 1:
            ss += float(((d - d.mean()) ** 2).sum())
            dof += len(d) - 1
            used += 1
    sd = math.sqrt(ss / dof) if dof else float("nan")
    return {"sd": sd, "dof": dof, "variants": used}
