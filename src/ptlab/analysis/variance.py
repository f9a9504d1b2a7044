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
from ptlab.analysis.table import AnalysisInputError, SwitchTable, require_rows

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


def conditional_spread(t: SwitchTable, switch: str = "use_rms_norm") -> pd.DataFrame:
    """The note's claim as stated: are the *other* switches' effects noisier when ``switch`` is on?

    Within each half of the runs (``switch`` on, ``switch`` off) fit the additive model of the
    other nine switches; its residual sd is how far the loss strays from what those switches'
    effects predict. Returns one row per half (half, n, resid_sd, mean_abs_effect) and, in
    ``attrs``, ``sd_ratio`` (on / off) with its F-based 95% interval and two-sided p. Unlike the
    order-2 Brown–Forsythe test, the ``switch`` × other interactions are not removed first: they
    are exactly what makes the other effects differ between the halves.
    """
    others = [s for s in t.X.columns if s != switch]
    half_n = min(int((t.X[switch] == 1).sum()), int((t.X[switch] == 0).sum()))
    if half_n < len(others) + 3:
        raise AnalysisInputError(
            f"the spread test needs ≥ {len(others) + 3} runs with {switch} on and off each "
            f"(an additive model of {len(others)} switches per half); the table has {half_n}"
        )
    rows, var = [], {}
    for half, val in (("on", 1), ("off", 0)):
        m = t.X[switch].to_numpy() == val
        D = design_matrix(t.X.loc[m, others].reset_index(drop=True), 1)
        fit = sm.OLS(t.y[m].to_numpy(), D).fit()
        var[half] = (float(fit.scale), int(fit.df_resid))
        rows.append(
            {
                "half": half,
                "n": int(m.sum()),
                "resid_sd": float(np.sqrt(fit.scale)),
                "mean_abs_effect": float(np.abs(2 * fit.params[others]).mean()),
            }
        )
    out = pd.DataFrame(rows)
    (v1, d1), (v0, d0) = var["on"], var["off"]
    F = v1 / v0
    lo, hi = F / stats.f.ppf(0.975, d1, d0), F / stats.f.ppf(0.025, d1, d0)
    p = 2 * min(stats.f.sf(F, d1, d0), stats.f.cdf(F, d1, d0))
    out.attrs.update(
        sd_ratio=float(np.sqrt(F)),
        ratio_low=float(np.sqrt(lo)),
        ratio_high=float(np.sqrt(hi)),
        p_value=float(p),
    )
    return out


def tost(estimate: float, se: float, dof: int, margin: float) -> dict:
    """Two one-sided t tests of |effect| < ``margin`` for a regression estimate.

    Written out (statsmodels' ``ttost_*`` take raw samples, not a fitted coefficient): the
    effect is equivalent to 0 within the margin when both one-sided p < 0.05, i.e. when the 90%
    interval lies inside (−margin, margin). Returns p_value (the larger one-sided p), low90,
    high90, equivalent.
    """
    p_low = stats.t.sf((estimate + margin) / se, dof)  # H0: effect <= -margin
    p_high = stats.t.cdf((estimate - margin) / se, dof)  # H0: effect >= +margin
    half = stats.t.ppf(0.95, dof) * se
    p = float(max(p_low, p_high))
    return {
        "p_value": p,
        "low90": float(estimate - half),
        "high90": float(estimate + half),
        "equivalent": p < 0.05,
    }
