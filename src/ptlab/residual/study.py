"""The residual-variant study's tables (the lab's Note 3, book/en/notes.md): the design, paired
comparisons of every variant with the baseline, the learned cross-layer weights and the
published relatives. Shown in: chapter *residual*.

Every variant is trained with the same seeds, batches and steps as the baseline (``design``), so
a seed's baseline run is the variant's pair: Δ = loss(variant, seed) − loss(baseline, seed); its
mean over seeds gets a t interval (n − 1 degrees of freedom).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ptlab.display import labelled
from ptlab.models import RESIDUALS, SWITCHES
from ptlab.models.config import ConfigError

VERSIONS: dict[str, tuple[str, ...]] = {
    "V1": tuple(f"v1_m{i}" for i in range(1, 8)) + tuple(f"v1_m{i}_embed" for i in range(1, 8)),
    "V2": ("v2_m1", "v2_m2", "v2_m3"),
    "V3": ("v3_m1", "v3_m2", "v3_m3_1", "v3_m3_2", "v3_m4_1", "v3_m4_2"),
    "V4": tuple(f"v4_m{i}" for i in range(1, 8))
    + ("v4_m1a", "v4_m1b", "v4_m1c", "v4_m1d", "v4_m1e", "v4_c", "v4_d"),
    "relatives": ("denseformer", "mudd"),
}

# Published relatives in relative terms: Δloss = ln(ppl_variant / ppl_baseline), nats per
# token, negative = better (the numbers the papers report; see the chapter's references).
PUBLISHED = pd.DataFrame(
    [
        ("denseformer", "DenseFormer, 48 blocks, OWT2 (Pagliardini et al. 2024)", -0.042),
        ("denseformer", "DenseFormer, 24 blocks, PG-19 (Pagliardini et al. 2024)", -0.027),
        ("denseformer", "DenseFormer in the 16-layer AttnRes ablation (Kimi Team 2026)", 0.001),
        ("mudd", "MUDDFormer, static dense, 405M (Xiao et al. 2025)", -0.021),
        ("mudd", "MUDDFormer, dynamic multiway, 405M (Xiao et al. 2025)", -0.081),
        ("v4_m1", "RealFormer, BERT-Small 4 layers (He et al. 2021)", 0.0),
    ],
    columns=["variant", "setting", "published_delta_loss"],
)


def design(variants: list[str] | None = None) -> list[dict]:
    """Every switch on (the Llama backbone) and one row per residual variant (default: all of
    ``ptlab.models.RESIDUALS``, baseline first); an unknown name is a ConfigError listing the
    allowed ones."""
    names = list(RESIDUALS) if not variants else list(dict.fromkeys(["baseline", *variants]))
    unknown = [v for v in names if v not in RESIDUALS]
    if unknown:
        raise ConfigError(
            f"unknown residual variant {unknown[0]!r}; allowed: {', '.join(RESIDUALS)}"
        )
    return [{**dict.fromkeys(SWITCHES, True), "residual": v} for v in names]


def version_of(name: str) -> str:
    return next((v for v, names in VERSIONS.items() if name in names), "baseline")


def _t_interval(d: np.ndarray) -> tuple[float, float, float]:
    """(mean, ci_low, ci_high) of the mean of paired differences (NaN interval for n < 2)."""
    n = len(d)
    mean = float(np.mean(d)) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.975, n - 1) * np.std(d, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def variant_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per variant (baseline first): mean eval loss over seeds, the paired Δ with its
    95 % CI, Δppl (%), parameters, FLOPs/token and cost ratios to the baseline (training step
    time paired by seed, geometric mean; eval forward time measured in each run against a
    baseline in the same process, median over seeds)."""
    ok = runs[runs["status"] == "ok"]
    base = ok[ok["residual"] == "baseline"].set_index("seed")
    rows = []
    for name, g in ok.groupby("residual", sort=False):
        g = g.set_index("seed")
        seeds = g.index.intersection(base.index)
        d = (g.loc[seeds, "eval/loss"] - base.loc[seeds, "eval/loss"]).to_numpy()
        mean, lo, hi = _t_interval(d)
        step_ratio = g.loc[seeds, "step_ms"] / base.loc[seeds, "step_ms"]
        rows.append(
            {
                "variant": name,
                "version": version_of(name),
                "seeds": len(g),
                "eval_loss": g["eval/loss"].mean(),
                "eval_loss_sd": g["eval/loss"].std(ddof=1) if len(g) > 1 else float("nan"),
                "delta_loss": mean,
                "ci_low": lo,
                "ci_high": hi,
                "delta_ppl_pct": 100 * (np.exp(mean) - 1),
                "n_params": int(g["n_params"].iloc[0]),
                "params_ratio": g["n_params"].iloc[0] / base["n_params"].iloc[0],
                "flops_ratio": g["flops_per_token"].iloc[0] / base["flops_per_token"].iloc[0],
                "step_time_ratio": float(np.exp(np.log(step_ratio).mean())),
                "eval_time_ratio": float(g["eval_time_ratio"].median()),
                "explicit_time_ratio": float(
                    (g["eval_time_explicit_ms"] / g["eval_time_baseline_ms"]).median()
                ),
                "diverged": int((runs[runs["residual"] == name]["status"] != "ok").sum()),
            }
        )
    table = pd.DataFrame(rows)
    order = {"baseline": -1, **{v: i for i, v in enumerate(VERSIONS)}}
    return table.sort_values("version", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True
    )


def connection_matrix(records: list[dict], variant: str, key: str | None = None) -> np.ndarray:
    """A variant's learned cross-layer weights (``ResidualLM.connection_weights``), averaged
    over seeds (as DenseFormer's paper shows them); ``key`` picks one of several."""
    mats = []
    for r in records:
        if r.get("model", {}).get("residual") != variant or r.get("status") != "ok":
            continue
        conn = r.get("connections") or {}
        if conn:
            k = key or next(iter(conn))
            mats.append(np.array(conn[k], dtype=float))
    if not mats:
        return np.empty((0, 0))
    return np.nanmean(np.stack(mats), axis=0) if len(mats) > 1 else mats[0]


def against_published(table: pd.DataFrame) -> pd.DataFrame:
    """This run's Δloss of the published relatives beside the papers' (relative terms)."""
    here = table.set_index("variant")
    out = PUBLISHED.copy()
    out["delta_loss_here"] = [
        here.loc[v, "delta_loss"] if v in here.index else np.nan for v in out["variant"]
    ]
    out["ci_low_here"] = [
        here.loc[v, "ci_low"] if v in here.index else np.nan for v in out["variant"]
    ]
    out["ci_high_here"] = [
        here.loc[v, "ci_high"] if v in here.index else np.nan for v in out["variant"]
    ]
    return out


# --- display ---------------------------------------------------------------------------------

LABELS = {
    "variant": "变体 · variant",
    "version": "版本 · version",
    "seeds": "种子 · seeds",
    "eval_loss": "验证损失 · eval/loss",
    "eval_loss_sd": "种子标准差 · seed sd",
    "delta_loss": "Δ 损失 · Δ loss",
    "ci_low": "95% CI 下限 · low",
    "ci_high": "95% CI 上限 · high",
    "delta_ppl_pct": "Δ 困惑度 % · Δ ppl %",
    "n_params": "参数量 · params",
    "params_ratio": "参数比 · params ×",
    "flops_ratio": "FLOPs 比 · FLOPs ×",
    "step_time_ratio": "训练步时比 · step time ×",
    "eval_time_ratio": "推理时间比 · eval time ×",
    "explicit_time_ratio": "显式注意力基线时间比 · explicit baseline ×",
    "diverged": "发散 · diverged",
    "setting": "论文设置 · published setting",
    "published_delta_loss": "论文 Δ 损失 · published Δ loss",
    "delta_loss_here": "本次 Δ 损失 · Δ loss here",
    "ci_low_here": "本次 95% CI 下限 · low",
    "ci_high_here": "本次 95% CI 上限 · high",
}


def show(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """The variant table for the page: indexed by variant, rounded, display labels."""
    return labelled(
        table.drop(columns=["version", "explicit_time_ratio"]), ["variant"], LABELS, digits
    )


def show_published(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """The published relatives beside this run's numbers, for the page."""
    return labelled(table, ["variant", "setting"], LABELS, digits)
