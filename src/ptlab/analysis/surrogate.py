"""The lab's method (Note 1, book/en/notes.md): an XGBoost surrogate of metric ~ switches,
explained with TreeSHAP.

Univariate: mean |SHAP| per switch (its order numbers the switches 1..10), fraction of each
switch among the best runs, out-of-fold R² (how much the surrogate explains at all) and a
bootstrap of the ranking.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_predict

from ptlab.analysis.table import SwitchTable, require_rows

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # tqdm.auto's "IProgress not found" inside Jupyter kernels
    import shap

# Small trees on ten binary inputs: depth 4 can represent up to four-way interactions. No row
# or column subsampling, so a fit is a deterministic function of the data. One thread: on 128
# rows the threads only contend (on the shared 2-core machine a fit took 1.2 s with 2 threads
# and 0.08 s with 1), and the bootstrap refits it hundreds of times.
XGB_PARAMS = dict(
    n_estimators=300,
    max_depth=4,
    learning_rate=0.05,
    min_child_weight=1.0,
    reg_lambda=1.0,
    n_jobs=1,
    tree_method="exact",
)


def fit_surrogate(X: pd.DataFrame, y: pd.Series, seed: int = 0) -> xgb.XGBRegressor:
    """XGBoost regressor of the metric on the 0/1 switches."""
    model = xgb.XGBRegressor(**XGB_PARAMS, random_state=seed)
    model.fit(X.to_numpy(dtype=np.float32), y.to_numpy())
    return model


def oof_r2(X: pd.DataFrame, y: pd.Series, folds: int = 5, seed: int = 0) -> float:
    """Out-of-fold R² of the surrogate: the share of the metric's variance it predicts."""
    require_rows(len(y), 2 * folds, "out-of-fold R²")
    model = xgb.XGBRegressor(**XGB_PARAMS, random_state=seed)
    pred = cross_val_predict(
        model,
        X.to_numpy(dtype=np.float32),
        y.to_numpy(),
        cv=KFold(folds, shuffle=True, random_state=seed),
    )
    return float(r2_score(y, pred))


def shap_explanation(model: xgb.XGBRegressor, X: pd.DataFrame) -> shap.Explanation:
    """TreeSHAP values per run and switch (an Explanation, as shap's plots expect)."""
    explainer = shap.TreeExplainer(model)
    return explainer(X.astype(np.float32))


def contributions(model: xgb.XGBRegressor, X: pd.DataFrame) -> np.ndarray:
    """The same TreeSHAP values ``[n, 10]`` computed inside XGBoost (``pred_contribs``): equal to
    ``shap_explanation(...).values`` (tested), without the Explanation object; the bootstrap
    uses it."""
    dm = xgb.DMatrix(X.to_numpy(dtype=np.float32))
    return model.get_booster().predict(dm, pred_contribs=True)[:, :-1]


def interaction_values(model: xgb.XGBRegressor, X: pd.DataFrame) -> np.ndarray:
    """TreeSHAP interaction values ``[n, 10, 10]``; off-diagonal φ_ij holds half of the pair's."""
    return np.asarray(shap.TreeExplainer(model).shap_interaction_values(X.astype(np.float32)))


def mean_abs_shap(values: np.ndarray) -> np.ndarray:
    """Mean |SHAP| per column of a ``[n, 10]`` array."""
    return np.abs(values).mean(axis=0)


def fraction_on_top(t: SwitchTable, k: int, lower_is_better: bool = True) -> pd.Series:
    """Share of runs with each switch on among the k best (NaN when the table has < k rows)."""
    if t.n < k:
        return pd.Series(np.nan, index=t.X.columns)
    order = np.argsort(t.y.to_numpy() if lower_is_better else -t.y.to_numpy(), kind="stable")
    return t.X.iloc[order[:k]].mean()


def univariate(t: SwitchTable, values: np.ndarray, lower_is_better: bool = True) -> pd.DataFrame:
    """switch, mean_abs_shap, rank (1 = strongest), fraction_on_top5, fraction_on_top20."""
    m = mean_abs_shap(values)
    out = pd.DataFrame({"switch": t.X.columns, "mean_abs_shap": m})
    out["fraction_on_top5"] = fraction_on_top(t, 5, lower_is_better).to_numpy()
    out["fraction_on_top20"] = fraction_on_top(t, 20, lower_is_better).to_numpy()
    out = out.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(2, "rank", np.arange(1, len(out) + 1))
    return out


def rank_stability(t: SwitchTable, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """Refit on bootstrap resamples: how often each switch keeps its full-data rank.

    Columns: switch, rank, keep_rank (fraction of resamples), rank_lo / rank_hi (5–95 %);
    ``attrs["n_boot"]``. Percentile intervals need a few hundred resamples (200 by default:
    the 5th and 95th percentiles then rest on 10 resamples each).
    """
    full = univariate(t, shap_explanation(fit_surrogate(t.X, t.y, seed), t.X).values)
    rank = dict(zip(full["switch"], full["rank"], strict=True))
    rng = np.random.default_rng(seed)
    ranks = np.empty((n_boot, t.X.shape[1]), dtype=int)
    from ptlab.progress import progress_bar

    for b in progress_bar(range(n_boot), desc="rank bootstrap", leave=False):
        idx = rng.integers(0, t.n, t.n)
        Xb, yb = t.X.iloc[idx].reset_index(drop=True), t.y.iloc[idx].reset_index(drop=True)
        m = mean_abs_shap(contributions(fit_surrogate(Xb, yb, seed), t.X))
        ranks[b] = np.argsort(np.argsort(-m, kind="stable"), kind="stable") + 1
    cols = list(t.X.columns)
    out = pd.DataFrame(
        {
            "switch": cols,
            "rank": [rank[c] for c in cols],
            "keep_rank": (ranks == np.array([rank[c] for c in cols])).mean(axis=0),
            "rank_lo": np.percentile(ranks, 5, axis=0),
            "rank_hi": np.percentile(ranks, 95, axis=0),
        }
    )
    out = out.sort_values("rank").reset_index(drop=True)
    out.attrs["n_boot"] = n_boot
    return out


def numbering(univariate_df: pd.DataFrame) -> dict[str, int]:
    """Switch → its number 1..10 in the univariate ranking (the lab's convention in Note 1)."""
    return dict(zip(univariate_df["switch"], univariate_df["rank"], strict=True))
