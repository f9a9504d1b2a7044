"""The book's three verdict words and the two numbers behind each: an interval and the smallest
effect the run could detect.

Every claim of the lab's notes that a chapter tests ends in one of three outcomes:

* ``supported``: the interval lies on the side of zero the note claims;
* ``contradicted``: it lies on the other side, or (with a stated ``margin``) wholly inside
  (−margin, +margin), so an effect of the claimed kind and of a size that matters is ruled out;
* ``undetermined``: anything else. The page then says the smallest effect the run could have
  detected (``detectable_effect``), so "could not tell" never reads as "not supported".

A claim of no effect ("hardly matters", ``sign=0``) is supported when the interval lies inside
±margin (two one-sided tests at the interval's level) and contradicted when it lies wholly
outside.

Shown in: every chapter's verdicts and the claims ledger (``ptlab.book.claims``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

OUTCOMES = ("supported", "contradicted", "undetermined")
OUTCOME_WORDS = {
    "zh": {"supported": "支持", "contradicted": "否定", "undetermined": "无法判定"},
    "en": {o: o for o in OUTCOMES},
}


def outcome(low: float, high: float, sign: int = 1, margin: float = 0.0) -> str:
    """The verdict word for an interval [low, high] on a claim of an effect of ``sign`` (+1: the
    quantity is claimed positive, −1 negative, 0: claimed negligible within ±``margin``)."""
    if sign not in (-1, 0, 1):
        raise ValueError(f"sign must be -1, 0 or 1, got {sign!r}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin!r}")
    if not (math.isfinite(low) and math.isfinite(high)):
        return "undetermined"
    if sign == 0:
        if -margin < low and high < margin:
            return "supported"
        if low >= margin or high <= -margin:
            return "contradicted"
        return "undetermined"
    lo, hi = (low, high) if sign > 0 else (-high, -low)  # the claimed direction is now positive
    if lo > 0:
        return "supported"
    if hi < 0 or (margin > 0 and -margin < lo and hi < margin):
        return "contradicted"
    return "undetermined"


def detectable_effect(se: float, dof: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true effect a two-sided t test at level ``alpha`` detects with probability
    ``power``, given the standard error ``se`` of the estimate on ``dof`` degrees of freedom:
    (t_{1−α/2} + t_{power}) · se (the normal-theory rule with t quantiles; tested against a
    simulation and against statsmodels' noncentral-t power for the paired case)."""
    if not (se >= 0 and dof > 0):
        return float("nan")
    return float((stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(power, dof)) * se)


def seeds_needed(
    sd: float, target: float, alpha: float = 0.05, power: float = 0.8, most: int = 10_000
) -> int:
    """The fewest paired seeds n for which ``detectable_effect(sd / √n, n − 1) <= target``: the
    power calculation for a paired comparison whose per-seed differences have sd ``sd``."""
    if not (sd > 0 and target > 0):
        raise ValueError("sd and target must be positive")
    for n in range(2, most + 1):
        if detectable_effect(sd / math.sqrt(n), n - 1, alpha, power) <= target:
            return n
    return most


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval and the smallest effect the run could detect."""

    estimate: float
    low: float
    high: float
    detectable: float  # smallest true effect detected with 80 % power at this run's size

    def outcome(self, sign: int = 1, margin: float = 0.0) -> str:
        return outcome(self.low, self.high, sign, margin)


def t_interval(
    differences, level: float = 0.95, alpha_detect: float = 0.05, power: float = 0.8
) -> Interval:
    """Mean of paired differences with its t interval and detectable effect (n ≥ 2)."""
    import numpy as np

    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    if n < 2:
        est = float(d.mean()) if n else float("nan")
        return Interval(est, float("nan"), float("nan"), float("nan"))
    se = float(d.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * se)
    est = float(d.mean())
    return Interval(est, est - half, est + half, detectable_effect(se, n - 1, alpha_detect, power))
