"""Exact factorial effects: OLS on ±1-coded switches with all interactions the design resolves.

With ±1 coding a main effect's coefficient β is half the on − off difference, so "effect" = 2β.
The error term comes from replicate seeds (pure error) when they exist, which is the honest
noise for a single-seed sweep; otherwise from the residuals.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ptlab.analysis.table import AnalysisInputError, SwitchTable


def design_matrix(X: pd.DataFrame, order: int) -> pd.DataFrame:
    """Intercept, ±1 mains and products up to ``order``; a product is named ``a:b[:c]``."""
    pm = 2 * X.astype(float) - 1
    cols = {"Intercept": np.ones(len(X))}
    for k in range(1, order + 1):
        for combo in itertools.combinations(X.columns, k):
            cols[":".join(combo)] = pm[list(combo)].prod(axis=1).to_numpy()
    return pd.DataFrame(cols, index=X.index)


def resolvable_order(X: pd.DataFrame, max_order: int = 3, need_residual_df: bool = True) -> int:
    """Highest interaction order (≤ max_order) whose OLS model is estimable on this design."""
    for order in range(max_order, 0, -1):
        D = design_matrix(X, order).to_numpy()
        p = D.shape[1]
        if len(D) < p + (1 if need_residual_df else 0):
            continue
        if np.linalg.matrix_rank(D) == p:
            return order
    raise AnalysisInputError(
        f"the table's {len(X)} runs do not resolve even the 10 main effects (needs ≥ 12 runs "
        "with every switch varied independently)"
    )


@dataclass(frozen=True)
class PureError:
    """Seed noise from replicate runs: pooled sd and its degrees of freedom."""

    sd: float
    dof: int


def pure_error(X: pd.DataFrame, y: pd.Series) -> PureError | None:
    """Pooled within-config sd over configs with ≥ 2 runs; None when no config is replicated."""
    g = pd.concat([X, y.rename("y")], axis=1).groupby(list(X.columns))["y"]
    n, var = g.count(), g.var(ddof=1)
    rep = n >= 2
    dof = int((n[rep] - 1).sum())
    if dof == 0:
        return None
    return PureError(float(np.sqrt(((n[rep] - 1) * var[rep]).sum() / dof)), dof)


def lack_of_fit(t: SwitchTable, order: int) -> dict:
    """The classical lack-of-fit F test of the order-``order`` model on a table whose configs are
    partly replicated: residual SS = pure-error SS (within configs) + lack-of-fit SS.
    Returns F, p_value, df_lof, df_pe, sd_pe (pure-error sd), sd_lof and the model order."""
    fit = fit_ols(t, order)
    g = pd.concat([t.X, t.y.rename("y")], axis=1).groupby(list(t.X.columns))["y"]
    ss_pe = float(((t.y - g.transform("mean")) ** 2).sum())
    df_pe = int(t.n - g.ngroups)
    df_lof = int(fit.df_resid) - df_pe
    if df_pe < 1 or df_lof < 1:
        raise AnalysisInputError(
            f"the lack-of-fit test needs replicated configs and residual dof beyond them "
            f"(pure-error dof {df_pe}, lack-of-fit dof {df_lof})"
        )
    ms_pe, ms_lof = ss_pe / df_pe, (float(fit.ssr) - ss_pe) / df_lof
    F = ms_lof / ms_pe
    return {
        "F": F,
        "p_value": float(stats.f.sf(F, df_lof, df_pe)),
        "df_lof": df_lof,
        "df_pe": df_pe,
        "sd_pe": float(np.sqrt(ms_pe)),
        "sd_lof": float(np.sqrt(max(ms_lof, 0.0))),
        "order": order,
    }


def fit_ols(t: SwitchTable, order: int):
    """statsmodels OLS of the metric on the ±1 design matrix of the given order."""
    return sm.OLS(t.y.to_numpy(), design_matrix(t.X, order)).fit()


def exact_effects(
    t: SwitchTable, order: int | None = None, noise: PureError | None = None
) -> pd.DataFrame:
    """term, estimate, ci_low, ci_high (of β), p_value, p_adjusted (Holm), effect (= 2·estimate,
    on − off) with effect_low, effect_high (its 95% interval, the scale pages show),
    beyond_noise (the 95% interval of the effect lies outside ± the seed sd of one run),
    below_noise (its 90% interval lies inside it: TOST) for every term of the resolvable model.

    ``noise``: pure error from replicate seeds (e.g. the sweep's anchor study); by default the
    table's own replicates if it has any, else the residual mean square.
    """
    if order is None:
        order = resolvable_order(t.X, need_residual_df=noise is None)
    fit = fit_ols(t, order)
    noise = noise or pure_error(t.X, t.y)
    if noise is not None:
        se = noise.sd * np.sqrt(np.diag(fit.normalized_cov_params))
        dof, floor, source = noise.dof, noise.sd, "replicate seeds"
    else:
        if fit.df_resid < 1:
            raise AnalysisInputError("no residual degrees of freedom and no replicate seeds")
        se = fit.bse.to_numpy()
        dof, floor, source = int(fit.df_resid), float(np.sqrt(fit.scale)), "residuals"
    est = fit.params.to_numpy()
    tq = stats.t.ppf(0.975, dof)
    tstat = est / se
    p = 2 * stats.t.sf(np.abs(tstat), dof)
    out = pd.DataFrame(
        {
            "term": fit.params.index,
            "estimate": est,
            "ci_low": est - tq * se,
            "ci_high": est + tq * se,
            "p_value": p,
        }
    )
    out = out[out["term"] != "Intercept"].reset_index(drop=True)
    out["p_adjusted"] = multipletests(out["p_value"], method="holm")[1]
    out["effect"] = 2 * out["estimate"]  # on − off, the scale every page shows
    out["effect_low"], out["effect_high"] = 2 * out["ci_low"], 2 * out["ci_high"]
    # against the seed sd of one run, by intervals (never by a point estimate): beyond noise
    # when the 95% interval of the effect lies wholly outside ±sd, below it when the 90%
    # interval lies inside (two one-sided tests at 5%), else undetermined
    se_e = (out["ci_high"] - out["ci_low"]) / tq  # of the effect (2β)
    half90 = stats.t.ppf(0.95, dof) * se_e
    out["beyond_noise"] = (2 * out["ci_low"] > floor) | (2 * out["ci_high"] < -floor)
    out["below_noise"] = (out["effect"] - half90 > -floor) & (out["effect"] + half90 < floor)
    out["order"] = out["term"].str.count(":") + 1
    out.attrs.update(
        noise_sd=floor,
        noise_dof=dof,
        noise_source=source,
        model_order=order,
        r2=float(fit.rsquared),
    )
    return out


def significant(effects: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Terms whose Holm-adjusted p-value is below alpha, strongest first."""
    s = effects[effects["p_adjusted"] < alpha]
    return s.reindex(s["estimate"].abs().sort_values(ascending=False).index)


def compare_rankings(univariate_df: pd.DataFrame, effects: pd.DataFrame) -> tuple[float, float]:
    """Spearman ρ (and p) between mean |SHAP| and |main effect| over the ten switches."""
    main = effects[effects["order"] == 1].set_index("term")["estimate"].abs()
    shap_ = univariate_df.set_index("switch")["mean_abs_shap"]
    rho, p = stats.spearmanr(shap_.loc[main.index], main)
    return float(rho), float(p)
