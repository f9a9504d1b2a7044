"""Confirmation experiments: a replicated full factorial in a few switches, the others held at a
fixed reference, analysed with exact effects.

The screening sweep (a 2^(10-3) fraction, one seed per config) cannot identify three-way
interactions (some are aliased with two-way ones, and the surrogate's triple strengths are
mostly predictions for configs never trained). A 2^k follow-up with every cell trained under
several seeds estimates every effect among the k switches exactly, with a pure-error term from
its own replicates. Its effects are conditional on the reference: they answer "at this
reference, do these switches interact?", which is what a follow-up can confirm.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

from ptlab.analysis.effects import exact_effects
from ptlab.analysis.table import AnalysisInputError, SwitchTable
from ptlab.models import SWITCHES

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


def cell_table(df: pd.DataFrame, switches: list[str], reference: str = "all-on") -> SwitchTable:
    """The ok runs of ``df`` that belong to this factorial (others at the reference, default
    model sizes) as a SwitchTable over the k switches; AnalysisInputError if a cell has fewer
    than two runs (no pure error without replicates)."""
    switches = [s for s in SWITCHES if s in switches]
    base = reference_row(reference)
    others = [s for s in SWITCHES if s not in switches]
    keep = df["status"].eq("ok")
    for s in others:
        keep &= df[s].astype(bool) == base[s]
    sub = df[keep]
    X = sub[switches].astype(int).reset_index(drop=True)
    counts = X.value_counts()
    if len(counts) < 2 ** len(switches) or counts.min() < 2:
        raise AnalysisInputError(
            f"the confirmation of {' × '.join(switches)} needs every one of its "
            f"{2 ** len(switches)} cells trained with ≥ 2 seeds; it has {len(counts)} cells, the "
            f"smallest with {int(counts.min()) if len(counts) else 0} runs"
        )
    y = sub["eval/loss"].astype(float).reset_index(drop=True).rename("eval/loss")
    return SwitchTable(X, y, "eval/loss", "confirmation " + " × ".join(switches), 0)


def confirm(
    df: pd.DataFrame, switches: list[str], reference: str = "all-on", noise=None
) -> pd.DataFrame:
    """Exact effects (on − off, with 95% CIs and p) of every term of the replicated 2^k
    factorial: term, order, effect, effect_low, effect_high, p_value. The error term is
    ``noise`` (e.g. ``pooled_error`` over all confirmation cells) or else this factorial's own
    replicates."""
    t = cell_table(df, switches, reference)
    e = exact_effects(t, order=len(switches), noise=noise)
    out = e.assign(effect_low=2 * e["ci_low"], effect_high=2 * e["ci_high"])
    out.attrs.update(e.attrs, n_runs=t.n, reference=reference)
    return out[["term", "order", "effect", "effect_low", "effect_high", "p_value"]]


def pooled_error(df: pd.DataFrame):
    """Pure error pooled over every replicated switch config of ``df`` (ok runs): one error term
    for all the confirmation factorials, on more degrees of freedom than any one of them."""
    from ptlab.analysis.effects import pure_error
    from ptlab.analysis.table import prepare

    t = prepare(df[df["status"] == "ok"], source="confirmation runs", min_rows=2)
    return pure_error(t.X, t.y)


OUTCOMES = ("confirmed", "differs", "inconclusive")


def compare_screening(confirmed: pd.DataFrame, screening: pd.DataFrame) -> pd.DataFrame:
    """Each confirmation term beside the same term in the screening sweep's exact effects
    (where the screening model has it): screen_effect, screen_low, screen_high, and
    ``outcome`` (``OUTCOMES``): *confirmed* when the confirmation CI excludes 0 with the
    screening sign (for a term the screening could not estimate, simply excludes 0); *differs*
    when it excludes the screening estimate otherwise; else *inconclusive*. ``confirmed`` is
    outcome == "confirmed". The two estimands differ: the confirmation's is conditional on its
    reference, the screening's an average over the design."""
    s = screening.set_index("term")
    rows = []
    for r in confirmed.itertuples():
        key = ":".join(t for t in SWITCHES if t in r.term.split(":"))
        have = key in s.index
        se = (
            2 * s.loc[key, ["estimate", "ci_low", "ci_high"]].to_numpy(float)
            if have
            else [np.nan] * 3
        )
        excludes = r.effect_low > 0 or r.effect_high < 0
        same_sign = not have or np.sign(se[0]) == np.sign(r.effect)
        if excludes and same_sign:
            outcome = "confirmed"
        elif have and not (r.effect_low <= se[0] <= r.effect_high):
            outcome = "differs"
        else:
            outcome = "inconclusive"
        rows.append(
            {
                "term": r.term,
                "order": r.order,
                "effect": r.effect,
                "effect_low": r.effect_low,
                "effect_high": r.effect_high,
                "screen_effect": se[0],
                "screen_low": se[1],
                "screen_high": se[2],
                "outcome": outcome,
                "confirmed": outcome == "confirmed",
            }
        )
    return pd.DataFrame(rows)


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
