"""Conditioning and the variance question (the lab's Note 2, book/en/notes.md): does a switch
move the mean of the metric, or only widen its spread?

* ``compare``: the metric under several conditions (e.g. "1 on, 3 off"), long format for plots,
  and ``stats_table`` (count, mean, std, min, q1, median, q3, max).
* ``variance_tests``: Brown–Forsythe (Levene with median centring) on the residuals of the
  mean model (all interactions the design resolves), Holm-corrected over the ten switches.
* ``location_scale``: mean and log-variance both linear in the ±1 switches (Harvey's
  multiplicative heteroscedasticity model, fitted by feasible GLS).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ptlab.analysis.effects import design_matrix, fit_ols, resolvable_order
from ptlab.analysis.table import SwitchTable, require_rows

# E[log χ²₁] = −(γ + log 2): the bias of log squared residuals as an estimate of log σ².
_LOG_CHI2_BIAS = -(np.euler_gamma + np.log(2.0))


def compare(t: SwitchTable, conditions: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Long table (condition, value) of the metric in each named condition {switch: 0/1}."""
    parts = []
    for name, cond in conditions.items():
        mask = np.ones(t.n, dtype=bool)
        for s, v in cond.items():
            mask &= t.X[s].to_numpy() == v
        parts.append(pd.DataFrame({"condition": name, "value": t.y[mask].to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def stats_table(long: pd.DataFrame) -> pd.DataFrame:
    """count, mean, std, min, q1, median, q3, max per condition (in the given order)."""
    g = long.groupby("condition", sort=False)["value"]
    out = g.agg(
        count="count",
        mean="mean",
        std="std",
        min="min",
        q1=lambda v: v.quantile(0.25),
        median="median",
        q3=lambda v: v.quantile(0.75),
        max="max",
    )
    return out


def mean_residuals(t: SwitchTable, order: int | None = None) -> np.ndarray:
    """Residuals of the mean model: OLS with all interactions the design resolves (or ``order``)."""
    return fit_ols(t, order or resolvable_order(t.X)).resid.to_numpy()


def variance_tests(t: SwitchTable, order: int | None = None) -> pd.DataFrame:
    """switch, statistic, p_value, p_adjusted (Holm), sd_on, sd_off: Brown–Forsythe on the
    residuals of the mean model, so mean effects (and interactions) are not mistaken for spread.
    ``order=1`` keeps interactions in the residuals: "spread the additive model misses"."""
    require_rows(t.n, 16, "the variance test")
    resid = mean_residuals(t, order)
    rows = []
    for s in t.X.columns:
        on = t.X[s].to_numpy() == 1
        stat, p = stats.levene(resid[on], resid[~on], center="median")
        rows.append(
            {
                "switch": s,
                "statistic": float(stat),
                "p_value": float(p),
                "sd_on": float(resid[on].std(ddof=1)),
                "sd_off": float(resid[~on].std(ddof=1)),
            }
        )
    out = pd.DataFrame(rows)
    out.insert(3, "p_adjusted", multipletests(out["p_value"], method="holm")[1])
    return out


def location_scale(t: SwitchTable, order: int | None = None, iterations: int = 1) -> pd.DataFrame:
    """switch, log_var_effect, ci_low, ci_high, p_value, p_adjusted, sd_ratio (on / off).

    log σ²(x) = γ₀ + Σ γ_j x_j with ±1 coding, so the on/off ratio of sds is exp(γ_j). Harvey's
    two-step estimator: OLS for the mean, then OLS of bias-corrected log squared residuals.
    ``iterations > 1`` alternates with WLS for the mean (feasible GLS); on small designs with a
    rich mean model that overfits, so one step is the default. The two-step ratio is shrunk
    toward 1 (the noisy half leaks into the other half's residuals): a planted 5× sd ratio
    reads about 3× on the full design. Brown–Forsythe is the test; this gives the direction.
    """
    require_rows(t.n, 24, "the location-scale model")
    D_mean = design_matrix(t.X, order or resolvable_order(t.X))
    D_var = design_matrix(t.X, 1)
    w = np.ones(t.n)
    for _ in range(iterations):
        mean = sm.WLS(t.y.to_numpy(), D_mean, weights=w).fit()
        z = np.log(mean.resid.to_numpy() ** 2 + 1e-12) - _LOG_CHI2_BIAS
        fit = sm.OLS(z, D_var).fit()
        w = np.exp(-fit.fittedvalues.to_numpy())
    cols = list(t.X.columns)
    ci = fit.conf_int()
    out = pd.DataFrame(
        {
            "switch": cols,
            "log_var_effect": fit.params[cols].to_numpy(),
            "ci_low": ci.loc[cols, 0].to_numpy(),
            "ci_high": ci.loc[cols, 1].to_numpy(),
            "p_value": fit.pvalues[cols].to_numpy(),
        }
    )
    out["p_adjusted"] = multipletests(out["p_value"], method="holm")[1]
    out["sd_ratio"] = np.exp(out["log_var_effect"])
    return out
