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
    """switch, statistic, p_value, p_adjusted (Holm), sd_on, sd_off, sd_ratio (on / off) with a
    95% F interval (ratio_low, ratio_high). The test: Brown–Forsythe on the residuals of the
    mean model, so mean effects (and interactions) are not mistaken for spread. The sds: each
    half's own mean model (``half_variance``), so the ratio has an exact F interval under
    normal errors; the test is the robust one.
    ``order=1`` keeps interactions in the residuals: "spread the additive model misses"."""
    require_rows(t.n, 16, "the variance test")
    order = order or resolvable_order(t.X)
    fit = fit_ols(t, order)
    resid = fit.resid.to_numpy()
    rows = []
    for s in t.X.columns:
        on = t.X[s].to_numpy() == 1
        stat, p = stats.levene(resid[on], resid[~on], center="median")
        (v1, d1), (v0, d0) = (half_variance(t, s, m) for m in (on, ~on))
        F = v1 / v0
        rows.append(
            {
                "switch": s,
                "statistic": float(stat),
                "p_value": float(p),
                "sd_on": float(np.sqrt(v1)),
                "sd_off": float(np.sqrt(v0)),
                "sd_ratio": float(np.sqrt(F)),
                "ratio_low": float(np.sqrt(F / stats.f.ppf(0.975, d1, d0))),
                "ratio_high": float(np.sqrt(F / stats.f.ppf(0.025, d1, d0))),
            }
        )
    out = pd.DataFrame(rows)
    out.insert(3, "p_adjusted", multipletests(out["p_value"], method="holm")[1])
    return out


def half_variance(t: SwitchTable, switch: str, rows: np.ndarray) -> tuple[float, float]:
    """(residual variance, dof) of the mean model fitted within one half of the runs (``rows``:
    ``switch`` on or off), with every interaction of the other switches that half resolves.
    Each half gets its own mean structure and its own residuals, so neither half's noise leaks
    into the other's (one rich fit over both halves pulls the ratio toward 1), and the ratio of
    the two is F-distributed under normal errors."""
    X = t.X.loc[rows].drop(columns=switch).reset_index(drop=True)
    y = t.y[rows].reset_index(drop=True)
    try:
        order = resolvable_order(X)
    except Exception:  # not even the additive model leaves residual dof: the raw variance
        return float(y.var(ddof=1)), float(len(y) - 1)
    fit = sm.OLS(y.to_numpy(), design_matrix(X, order)).fit()
    return float(fit.scale), float(fit.df_resid)


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


def conditional_spread(t: SwitchTable, switch: str = "use_rms_norm", noise=None) -> pd.DataFrame:
    """Note 2's claim as stated: with ``switch`` on, do the *other* switches' effects on the loss
    grow ("其他开关开闭情况对 loss 造成的影响急剧增大")?

    Within each half of the runs (``switch`` on / off) the additive model of the other switches
    gives each one's effect (on − off, = 2β) in that half. Returns one row per other switch:
    switch, effect_on, effect_off, growth = sign(overall effect) · (effect_on − effect_off),
    positive when the effect is larger in its own direction with ``switch`` on, with its 95% t
    interval (growth_low, growth_high), se, dof, p_value, p_adjusted (Holm over the other
    switches) and ``alias``: the triples the design confounds the ``switch`` × other contrast
    with ("" if none), so that growth is 4 × (pair + triple) coefficients there. ``attrs``:

    * ``growth`` (mean over the other switches), ``growth_low``/``growth_high`` (95% t interval)
      and ``p_value``: a linear contrast of the ``switch`` × other interactions, so its standard
      error follows from the seed noise: var = 4σ²(1/n_on + 1/n_off)/k for k switches and
      orthogonal ±1 columns in each half. σ is ``noise`` (pure error) if given, else the pooled
      residual sd of the two half models;
    * ``mean_abs_on``/``mean_abs_off``: mean |effect| in each half; ``sd_on``/``sd_off``: the raw
      loss sd in each half (the note's "方差增加");
    * ``resid_ratio`` (on / off) with an F interval: the residual sd of each half's additive
      model, i.e. the other switches' interactions among themselves plus noise (non-additivity
      within a half, not the claim itself).
    """
    others = [s for s in t.X.columns if s != switch]
    on = t.X[switch].to_numpy() == 1
    half_n = min(int(on.sum()), int((~on).sum()))
    if half_n < len(others) + 3:
        raise AnalysisInputError(
            f"the spread test needs ≥ {len(others) + 3} runs with {switch} on and off each "
            f"(an additive model of {len(others)} switches per half); the table has {half_n}"
        )
    fits = {}
    for half, m in (("on", on), ("off", ~on)):
        D = design_matrix(t.X.loc[m, others].reset_index(drop=True), 1)
        fits[half] = sm.OLS(t.y[m].to_numpy(), D).fit()
    e_on = 2 * fits["on"].params[others].to_numpy()
    e_off = 2 * fits["off"].params[others].to_numpy()
    sign = np.sign(e_on + e_off)
    out = pd.DataFrame(
        {"switch": others, "effect_on": e_on, "effect_off": e_off, "growth": sign * (e_on - e_off)}
    )
    if noise is not None:
        sigma, dof = noise.sd, noise.dof
    else:
        ssr = fits["on"].ssr + fits["off"].ssr
        dof = int(fits["on"].df_resid + fits["off"].df_resid)
        sigma = float(np.sqrt(ssr / dof))
    n1, n0 = int(on.sum()), int((~on).sum())
    se = sigma * np.sqrt(4 * (1 / n1 + 1 / n0) / len(others))
    g = float(out["growth"].mean())
    tq = float(stats.t.ppf(0.975, dof))
    half = tq * se
    se_one = se * np.sqrt(len(others))  # one switch's growth
    out["growth_low"] = out["growth"] - tq * se_one
    out["growth_high"] = out["growth"] + tq * se_one
    out["se"] = se_one
    out["dof"] = float(dof)
    out["p_value"] = 2 * stats.t.sf(np.abs(out["growth"]) / se_one, dof)
    out["p_adjusted"] = multipletests(out["p_value"], method="holm")[1]  # over the k switches
    out["alias"] = [spread_alias(t.X, switch, s) for s in others]
    (v1, d1), (v0, d0) = ((f.scale, f.df_resid) for f in (fits["on"], fits["off"]))
    F = v1 / v0
    out.attrs.update(
        growth=g,
        growth_low=g - half,
        growth_high=g + half,
        p_value=float(2 * stats.t.sf(abs(g) / se, dof)),
        mean_abs_on=float(np.abs(e_on).mean()),
        mean_abs_off=float(np.abs(e_off).mean()),
        sd_on=float(t.y[on].std(ddof=1)),
        sd_off=float(t.y[~on].std(ddof=1)),
        resid_ratio=float(np.sqrt(F)),
        resid_low=float(np.sqrt(F / stats.f.ppf(0.975, d1, d0))),
        resid_high=float(np.sqrt(F / stats.f.ppf(0.025, d1, d0))),
    )
    return out


def dealias_choice(spread: pd.DataFrame, top: int, always=("untie_attn_weights",)) -> list[str]:
    """The other switches whose ``switch`` × other contrast a verdict rests on and the design
    aliases: beyond noise after Holm's adjustment, the ``top`` largest |growth|; plus
    ``always`` (Note 2's question 2 is about untie_attn)."""
    beyond = spread[(spread["p_adjusted"] < 0.05) & (spread["alias"] != "")]
    beyond = beyond.reindex(beyond["growth"].abs().sort_values(ascending=False).index)
    return list(dict.fromkeys([*beyond["switch"][:top], *always]))


def followup_design(others: list[str], switch: str = "use_rms_norm", reference="all-on"):
    """The cells of the 2 × 2 follow-ups (``switch`` × each of ``others``, the rest at
    ``reference``), each cell once."""
    from ptlab.analysis.confirm import factorial_design
    from ptlab.models import SWITCHES

    cells = {}
    for x in others:
        for c in factorial_design([switch, x], reference):
            cells[tuple(c[s] for s in SWITCHES)] = c
    return list(cells.values())


def spread_followups(
    spread: pd.DataFrame,
    runs: pd.DataFrame,
    others: list[str],
    margin: float,
    switch: str = "use_rms_norm",
    reference: str = "all-on",
) -> pd.DataFrame:
    """De-aliased growth of each of ``others``' effects with ``switch`` on, from 2 × 2
    follow-ups (``runs``; every cell replicated) at ``reference``, beside the screening growth
    of ``conditional_spread`` (``confirm.compare_screening``: confirmed / differs / absent /
    undetermined, Holm over the follow-ups).

    Inside a follow-up the triple the fraction confounds with ``switch`` × x is held constant,
    so the interaction contrast is free of it. Growth on the screening's scale:
    sign(x's effect) · (x's effect with ``switch`` on − with it off) = sign · 2 · the 2 × 2
    interaction effect (on − off convention). The follow-up's estimand is conditional on the
    reference."""
    from ptlab.analysis import confirm as C
    from ptlab.models import SWITCHES

    sp = spread.set_index("switch")
    sign = np.sign(sp["effect_on"] + sp["effect_off"])
    rows, screen = [], []
    for x in others:
        key = ":".join(s for s in SWITCHES if s in (switch, x))
        r = C.confirm(runs, [switch, x], reference).set_index("term").loc[key]
        g = 2.0 * (sign[x] or 1.0)
        lo, hi = sorted((g * r.effect_low, g * r.effect_high))
        rows.append(
            {
                "term": key,
                "order": 2,
                "effect": g * r.effect,
                "effect_low": lo,
                "effect_high": hi,
                "se": abs(g) * r.se,
                "dof": r.dof,
                "p_value": r.p_value,
                "detectable": abs(g) * r.detectable,
            }
        )
        screen.append(
            {
                "term": key,
                "alias": sp.loc[x, "alias"],
                "screen_effect": sp.loc[x, "growth"],
                "screen_low": sp.loc[x, "growth_low"],
                "screen_high": sp.loc[x, "growth_high"],
                "screen_se": sp.loc[x, "se"],
                "screen_dof": sp.loc[x, "dof"],
            }
        )
    raw = pd.DataFrame(rows)
    raw = C.adjust_across({"followups": raw})["followups"]
    return C.compare_screening(raw, pd.DataFrame(screen), margin)


def spread_alias(X: pd.DataFrame, switch: str, other: str) -> str:
    """The terms of order 3 the design aliases the ``switch`` × ``other`` contrast with."""
    from ptlab.analysis.interactions import alias_structure
    from ptlab.models import SWITCHES

    key = ":".join(s for s in SWITCHES if s in (switch, other))
    a = alias_structure(X, 3).set_index("term")["aliases"]
    return ", ".join(t for t in a.get(key, []) if t.count(":") == 2)


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
