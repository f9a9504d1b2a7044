"""Confirmation experiments: a replicated full factorial in a few switches, the others held at a
fixed reference, analysed with exact effects. Shown in: chapters *shap* and *variance*.

The screening sweep (a 2^(10-3) fraction, one seed per config) cannot identify three-way
interactions (some are aliased with two-way ones, and the surrogate's triple strengths are
mostly predictions for configs never trained). A 2^k follow-up with every cell trained under
several seeds estimates every effect among the k switches exactly. Its effects are conditional
on the reference: they answer "at this reference, do these switches interact?", which is what a
follow-up can confirm; a 2^2 follow-up also de-aliases a screening pair from the triple the
fraction confounds it with (that triple is constant inside the follow-up).

Decisions:

* Error: each cell keeps its own variance (Welch–Satterthwaite over the cells of a contrast;
  ``factorial_effects``). The seed sd differs between cells by more than an order of magnitude
  (use_rms_norm's cells are the noisy ones), so one pooled error would make the quiet
  factorials look uncertain and the noisy ones certain.
* Multiplicity: Holm over every term of every confirmation experiment (``adjust_across``).
* Outcome: agreement in sign *and* size with the screening estimate, within both
  uncertainties (``compare_screening``).
* Seeds: a pilot of a few seeds per cell, then a power calculation (``power_plan``: Neyman
  allocation, seeds ∝ the cell's sd) sets the seeds of the noisy cells, up to a cap.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ptlab.analysis.table import AnalysisInputError, SwitchTable
from ptlab.models import SWITCHES
from ptlab.verdict import detectable_effect

REFERENCES = ("all-on", "all-off")


def reference_row(reference: str) -> dict[str, bool]:
    """The config the other switches are held at: all on (Llama) or all off (PT)."""
    if reference not in REFERENCES:
        raise AnalysisInputError(
            f"unknown reference {reference!r}; allowed: {', '.join(REFERENCES)}"
        )
    return {s: reference == "all-on" for s in SWITCHES}


def factorial_design(switches: list[str], reference: str = "all-on") -> list[dict[str, bool]]:
    """The 2^k cells of ``switches`` (cell order 0…0 to 1…1), the others at ``reference``."""
    unknown = [s for s in switches if s not in SWITCHES]
    if unknown or len(set(switches)) != len(switches) or not switches:
        raise AnalysisInputError(
            f"confirmation switches must be distinct switch names, got {switches}; allowed: "
            f"{', '.join(SWITCHES)}"
        )
    base = reference_row(reference)
    return [
        {**base, **dict(zip(switches, map(bool, bits), strict=True))}
        for bits in itertools.product([0, 1], repeat=len(switches))
    ]


def cell_stats(df: pd.DataFrame, switches: list[str], reference: str = "all-on") -> pd.DataFrame:
    """The 2^k cells of this factorial from the ok runs of ``df`` (others at the reference):
    cell (bits in SWITCHES order), the k switches (0/1), n, mean, sd. AnalysisInputError if a
    cell has fewer than two runs (no error term without replicates)."""
    switches = [s for s in SWITCHES if s in switches]
    base = reference_row(reference)
    keep = df["status"].eq("ok")
    for s in SWITCHES:
        if s not in switches:
            keep &= df[s].astype(bool) == base[s]
    sub = df[keep].drop_duplicates("run_id") if "run_id" in df else df[keep]
    if "n_params" in sub:  # default sizes only: a parameter-matched control (a wider FFN) in
        # the same study shares the switches of a cell but has more parameters
        smallest = sub.groupby(switches)["n_params"].transform("min")
        sub = sub[sub["n_params"] == smallest]
    g = sub.assign(**{s: sub[s].astype(int) for s in switches}).groupby(switches)["eval/loss"]
    cells = g.agg(n="count", mean="mean", sd=lambda v: v.std(ddof=1)).reset_index()
    if len(cells) < 2 ** len(switches) or cells["n"].min() < 2:
        raise AnalysisInputError(
            f"the confirmation of {' × '.join(switches)} needs every one of its "
            f"{2 ** len(switches)} cells trained with ≥ 2 seeds; it has {len(cells)} cells, the "
            f"smallest with {int(cells['n'].min()) if len(cells) else 0} runs"
        )
    cells.insert(0, "cell", ["".join(str(int(v)) for v in r) for r in cells[switches].to_numpy()])
    return cells


def satterthwaite(weights: np.ndarray, var: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Standard error and Welch–Satterthwaite degrees of freedom of Σ w_c ȳ_c for independent
    cell means with sample variances ``var`` over ``n`` runs each (each cell keeps its own
    variance: no pooling across cells whose seed noise differs)."""
    parts = np.asarray(weights, float) ** 2 * np.asarray(var, float) / np.asarray(n, float)
    v = float(parts.sum())
    den = float((parts**2 / (np.asarray(n, float) - 1)).sum())
    return float(np.sqrt(v)), (v**2 / den if den > 0 else float("inf"))


def factorial_effects(cells: pd.DataFrame, switches: list[str], level: float = 0.95):
    """Every effect (on − off) of a replicated 2^k factorial from its cell summaries
    (``cell_stats``), each cell with its own error: term, order, effect, se, dof, effect_low,
    effect_high, p_value, detectable (the smallest effect this factorial detects with 80 %
    power at α = 0.05; the same for every term, since every contrast weighs each cell by
    ±2/2^k). The effect is the unweighted contrast of cell means, so unequal seeds per cell
    (after a power top-up) leave the estimand unchanged."""
    switches = [s for s in SWITCHES if s in switches]
    k = len(switches)
    pm = 2 * cells[switches].to_numpy(int) - 1
    w0 = 2.0 / 2**k
    rows = []
    for order in range(1, k + 1):
        for combo in itertools.combinations(range(k), order):
            w = w0 * pm[:, list(combo)].prod(axis=1)
            est = float(w @ cells["mean"].to_numpy(float))
            se, dof = satterthwaite(w, cells["sd"].to_numpy(float) ** 2, cells["n"].to_numpy())
            half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
            rows.append(
                {
                    "term": ":".join(switches[i] for i in combo),
                    "order": order,
                    "effect": est,
                    "se": se,
                    "dof": dof,
                    "effect_low": est - half,
                    "effect_high": est + half,
                    "p_value": float(2 * stats.t.sf(abs(est) / se, dof)) if se > 0 else 0.0,
                    "detectable": detectable_effect(se, dof),
                }
            )
    return pd.DataFrame(rows)


def confirm(df: pd.DataFrame, switches: list[str], reference: str = "all-on") -> pd.DataFrame:
    """Exact effects of every term of the replicated 2^k factorial of ``switches`` (the others
    at ``reference``), each from its own cells' errors (``factorial_effects``); attrs: n_runs,
    reference."""
    cells = cell_stats(df, switches, reference)
    out = factorial_effects(cells, switches)
    out.attrs.update(n_runs=int(cells["n"].sum()), reference=reference)
    return out


def adjust_across(tables: dict[str, pd.DataFrame], alpha: float = 0.05) -> dict:
    """Holm's adjustment over every term of every confirmation experiment (one family of
    tests): each table gains p_adjusted."""
    flat = pd.concat(tables, names=["experiment"]).reset_index(level=0)
    adjusted = multipletests(flat["p_value"].to_numpy(), alpha=alpha, method="holm")[1]
    out, i = {}, 0
    for name, t in tables.items():
        out[name] = t.assign(p_adjusted=adjusted[i : i + len(t)])
        out[name].attrs.update(t.attrs)
        i += len(t)
    return out


def screening_terms(t: SwitchTable, terms: list[str], noise=None) -> pd.DataFrame:
    """The screening sweep's estimate of each term (on − off = 2β, 95 % CI, se, dof): from the
    resolvable model (``effects.exact_effects``) when the term is in it; a term beyond it (a
    triple) is added to that model on its own when the fraction can separate it from every
    model term, else ``alias`` names the model term it is aliased with and the estimate is
    NaN. A pair or main effect aliased with triples keeps its estimate (a sum) and ``alias``
    names the triples. Errors: pure error ``noise`` when given, else residuals."""
    from ptlab.analysis.effects import design_matrix, resolvable_order
    from ptlab.analysis.interactions import alias_structure

    order = resolvable_order(t.X, need_residual_df=noise is None)
    base = design_matrix(t.X, order)
    aliases = alias_structure(t.X, 3).set_index("term")["aliases"]
    rows = []
    for term in terms:
        key = ":".join(s for s in SWITCHES if s in term.split(":"))
        parts = key.split(":")
        D = base.copy()
        alias = ""
        if key not in D:
            col = (2 * t.X[parts].astype(float) - 1).prod(axis=1).to_numpy()
            same = [c for c in base.columns if abs(abs(base[c].to_numpy() @ col) - t.n) < 1e-9]
            if same:
                rows.append({"term": term, "alias": same[0], **dict.fromkeys(_SCREEN, np.nan)})
                continue
            D[key] = col
        elif key in aliases.index:
            alias = ", ".join(a for a in aliases[key] if a.count(":") >= order)
        fit = sm.OLS(t.y.to_numpy(), D).fit()
        j = list(D.columns).index(key)
        if noise is not None:
            se = noise.sd * float(np.sqrt(fit.normalized_cov_params.to_numpy()[j, j]))
            dof = noise.dof
        else:
            se, dof = float(fit.bse.iloc[j]), float(fit.df_resid)
        b = float(fit.params.iloc[j])
        half = float(stats.t.ppf(0.975, dof)) * se
        rows.append(
            {
                "term": term,
                "alias": alias,
                "screen_effect": 2 * b,
                "screen_low": 2 * (b - half),
                "screen_high": 2 * (b + half),
                "screen_se": 2 * se,
                "screen_dof": float(dof),
            }
        )
    return pd.DataFrame(rows)


_SCREEN = ("screen_effect", "screen_low", "screen_high", "screen_se", "screen_dof")
OUTCOMES = ("confirmed", "differs", "absent", "undetermined")


def compare_screening(
    confirmed: pd.DataFrame, screening: pd.DataFrame, margin: float, alpha: float = 0.05
) -> pd.DataFrame:
    """Each confirmation term beside the screening estimate of the same term
    (``screening_terms``), with the difference confirmation − screening (95 % Welch interval:
    the two come from different runs) and an ``outcome`` (``OUTCOMES``):

    * *confirmed*: the confirmation excludes 0 after Holm's adjustment (``p_adjusted`` <
      ``alpha``) with the screening sign, and the difference interval contains 0, so the two
      agree in sign and in size within their uncertainties (a term the screening cannot
      estimate only has to exclude 0);
    * *differs*: the difference interval excludes 0: sign or size disagree beyond both
      uncertainties (the two estimands differ: the confirmation is conditional on its
      reference, the screening an average over the design);
    * *absent*: the confirmation's 95 % interval lies inside ±``margin``: no effect that
      matters at this reference;
    * *undetermined*: anything else; ``detectable`` says the smallest effect it could find.
    """
    s = screening.set_index("term")
    out = confirmed.copy()
    for c in (*_SCREEN, "alias"):
        out[c] = [
            s.loc[t, c] if t in s.index else (np.nan if c != "alias" else "") for t in out["term"]
        ]
    se_d = np.sqrt(out["se"] ** 2 + out["screen_se"] ** 2)
    dof_d = se_d**4 / (out["se"] ** 4 / out["dof"] + out["screen_se"] ** 4 / out["screen_dof"])
    half = stats.t.ppf(0.975, dof_d.fillna(1)) * se_d
    out["diff"] = out["effect"] - out["screen_effect"]
    out["diff_low"], out["diff_high"] = out["diff"] - half, out["diff"] + half
    if "p_adjusted" not in out:
        out["p_adjusted"] = out["p_value"]
    outcome = []
    for r in out.itertuples():
        have = np.isfinite(r.screen_effect)
        differs = have and (r.diff_low > 0 or r.diff_high < 0)
        excludes = r.p_adjusted < alpha
        same_sign = not have or np.sign(r.effect) == np.sign(r.screen_effect)
        if differs:
            outcome.append("differs")
        elif excludes and same_sign:
            outcome.append("confirmed")
        elif -margin < r.effect_low and r.effect_high < margin:
            outcome.append("absent")
        else:
            outcome.append("undetermined")
    out["outcome"] = outcome
    out["confirmed"] = out["outcome"] == "confirmed"
    out.attrs.update(confirmed.attrs)
    return out


def power_plan(
    cells: pd.DataFrame,
    k: int,
    target: float,
    min_seeds: int = 2,
    max_seeds: int = 10_000,
    alpha: float = 0.05,
    power: float = 0.8,
) -> pd.DataFrame:
    """Seeds per cell so that the factorial detects an effect of ``target`` (two-sided level
    ``alpha``, ``power``) with each cell's own error, given pilot sds (``cell_stats``):
    Neyman allocation (seeds ∝ the cell's sd, the allocation that minimises the contrast's
    variance for a total), grown until ``detectable_effect`` ≤ target. Returns the cells with
    ``needed`` (uncapped) and ``planned`` (capped at ``max_seeds``, never below the seeds
    already run) and attrs ``detectable_now``, ``detectable_planned``."""
    w = 2.0 / 2**k
    sd = np.maximum(cells["sd"].to_numpy(float), 1e-12)
    have = cells["n"].to_numpy(int)

    def detectable(n):
        se, dof = satterthwaite(np.full(len(sd), w), sd**2, n)
        return detectable_effect(se, dof, alpha, power)

    n = np.maximum(have, min_seeds)
    scale = 1.0
    while detectable(n) > target and n.max() < 10_000:
        scale *= 1.1
        n = np.maximum(np.maximum(have, min_seeds), np.ceil(scale * sd / sd.max() * 2)).astype(int)
    out = cells.copy()
    out["needed"] = n
    out["planned"] = np.maximum(have, np.minimum(n, max_seeds))
    out.attrs.update(
        detectable_now=detectable(have),
        detectable_planned=detectable(out["planned"].to_numpy()),
        target=target,
    )
    return out


def planned_cells(plans: dict[tuple[str, ...], pd.DataFrame], reference: str) -> list[tuple]:
    """(config row, seeds) for every cell of the experiments' ``power_plan``s (keyed by their
    switches); a cell shared by several experiments gets the most seeds any of them plans."""
    want: dict[tuple, tuple[dict, int]] = {}
    base = reference_row(reference)
    for switches, plan in plans.items():
        for r in plan.itertuples():
            row = {**base, **{s: bool(getattr(r, s)) for s in switches}}
            key = tuple(row[s] for s in SWITCHES)
            want[key] = (row, max(want.get(key, (row, 0))[1], int(r.planned)))
    return list(want.values())


def run_cells(study: str, cells: list[tuple[dict, int]], profile: str, results_dir: str):
    """Train every cell with its number of seeds (0 … n − 1; runs already in the store are
    reused) in one sweep, and return exactly those runs (a DataFrame of the results store)."""
    from ptlab.sweep import ResultsStore, plan_runs, records_frame, run_sweep

    specs = []
    for row, n in cells:
        specs += plan_runs(study, [row], seeds=n, profile=profile, results_dir=results_dir)
    run_sweep(specs, "local")
    store = ResultsStore(results_dir, study)
    return records_frame([store.read(s.run_id) for s in specs if store.exists(s.run_id)])


def capacity_design(switch: str, reference: str, match_ffn: int) -> list[dict]:
    """Parameter-matched control for a switch that adds weights: the reference with ``switch``
    on, with it off, and with it off but an FFN of width ``match_ffn`` (as many parameters as
    the on arm)."""
    base = reference_row(reference)
    return [
        {**base, switch: True},
        {**base, switch: False},
        {**base, switch: False, "ffn_hidden": int(match_ffn)},
    ]


def adds_parameters(model_cfg, switch: str) -> bool:
    """Whether turning ``switch`` on adds weights to ``model_cfg``."""
    from ptlab.models import param_count

    return param_count(model_cfg.replace(**{switch: True})) > param_count(
        model_cfg.replace(**{switch: False})
    )


def matching_ffn(model_cfg, switch: str) -> int:
    """Smallest FFN width at which ``model_cfg`` with ``switch`` off has at least the parameters
    of ``model_cfg`` with it on (even widths); AnalysisInputError if the switch adds none."""
    from ptlab.models import param_count

    if not adds_parameters(model_cfg, switch):
        raise AnalysisInputError(f"{switch} adds no parameters at this reference")
    on = param_count(model_cfg.replace(**{switch: True}))
    off = model_cfg.replace(**{switch: False})
    width = off.ffn_hidden
    while param_count(off.replace(ffn_hidden=width)) < on:
        width += 2
    return width


def capacity_table(df: pd.DataFrame, switch: str) -> pd.DataFrame:
    """arm, n_params, n, mean, sd, and the effect of the switch against each off arm (mean
    difference with a Welch 95% CI): how much of the effect survives matching the parameters.
    ``attrs``: capacity, capacity_low, capacity_high, the effect of the extra parameters alone
    (matched off arm − plain off arm, Welch 95% CI)."""
    ok = df[df["status"].eq("ok")]
    arms = {
        "on": ok[ok[switch].astype(bool)],
        "off": ok[~ok[switch].astype(bool) & (ok["n_params"] < ok["n_params"].max())],
        "off, matched": ok[~ok[switch].astype(bool) & (ok["n_params"] == ok["n_params"].max())],
    }
    on = arms["on"]["eval/loss"].to_numpy(float)
    rows = []
    for name, g in arms.items():
        v = g["eval/loss"].to_numpy(float)
        row = {
            "arm": name,
            "n_params": int(g["n_params"].iloc[0]) if len(g) else 0,
            "n": len(v),
            "mean": float(v.mean()) if len(v) else np.nan,
            "sd": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
        }
        if name != "on" and len(v) > 1 and len(on) > 1:
            row.update(zip(("effect", "effect_low", "effect_high"), welch(on, v), strict=True))
        rows.append(row)
    out = pd.DataFrame(rows)
    plain, matched = (arms[k]["eval/loss"].to_numpy(float) for k in ("off", "off, matched"))
    if len(plain) > 1 and len(matched) > 1:  # the capacity effect itself: matched − plain off
        d, lo, hi = welch(matched, plain)
        out.attrs.update(capacity=d, capacity_low=lo, capacity_high=hi)
    return out


def welch(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """mean(a) − mean(b) with scipy's Welch (unequal-variance) t interval."""
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
    return float(a.mean() - b.mean()), float(ci.low), float(ci.high)
