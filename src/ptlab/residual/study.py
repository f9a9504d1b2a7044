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

from ptlab.display import for_reader, interval
from ptlab.models import RESIDUALS, SWITCHES
from ptlab.models.config import ConfigError
from ptlab.verdict import t_interval

VERSIONS: dict[str, tuple[str, ...]] = {
    "V1": tuple(f"v1_m{i}" for i in range(1, 8)) + tuple(f"v1_m{i}_embed" for i in range(1, 8)),
    "V2": ("v2_m1", "v2_m2", "v2_m3"),
    "V3": ("v3_m1", "v3_m2", "v3_m3_1", "v3_m3_2", "v3_m4_1", "v3_m4_2", "v3_m1_r"),
    "V4": tuple(f"v4_m{i}" for i in range(1, 8))
    + ("v4_m1a", "v4_m1b", "v4_m1c", "v4_m1d", "v4_m1e", "v4_c", "v4_d"),
    "relatives": ("denseformer", "mudd"),
}

# What the papers report for the published relatives, each in its own units. Where the unit is
# a relative loss, Δloss = ln(ppl_variant / ppl_baseline) in nats per token (negative = better)
# and comparable in sign and order to this chapter's Δ (which is per byte); RealFormer reports
# masked-LM accuracy, which is only set beside ours, not compared. Sources: the references page.
PUBLISHED = pd.DataFrame(
    [
        ("denseformer", "DenseFormer, 48 blocks, OpenWebText2", "Δloss", -0.042),
        ("denseformer", "DenseFormer, 24 blocks, PG-19", "Δloss", -0.027),
        ("denseformer", "DenseFormer in the 16-layer AttnRes ablation", "Δloss", 0.001),
        ("mudd", "MUDDFormer, static dense, 405M", "Δloss", -0.021),
        ("mudd", "MUDDFormer, dynamic multiway (no re-allocation), 405M", "Δloss", -0.076),
        ("v4_m1", "RealFormer, BERT-Small (4 layers), vs Pre-LN", "MLM accuracy, points", 0.03),
    ],
    columns=["variant", "setting", "unit", "published"],
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


def variant_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per variant (baseline first): mean eval loss over seeds, the paired Δ with its
    95 % t interval, Δppl (%), parameters, FLOPs/token and cost
    ratios: training step time to the baseline's (paired by seed, geometric mean; measured in
    the sweep, a rough guide) and eval forward time to the fused and to the explicit-attention
    baseline timed in the same process (median over seeds)."""
    ok = runs[runs["status"] == "ok"]
    base = ok[ok["residual"] == "baseline"].set_index("seed")
    rows = []
    for name, g in ok.groupby("residual", sort=False):
        g = g.set_index("seed")
        seeds = g.index.intersection(base.index)
        iv = t_interval((g.loc[seeds, "eval/loss"] - base.loc[seeds, "eval/loss"]).to_numpy())
        step_ratio = g.loc[seeds, "step_ms"] / base.loc[seeds, "step_ms"]
        rows.append(
            {
                "variant": name,
                "version": version_of(name),
                "seeds": len(g),
                "eval_loss": g["eval/loss"].mean(),
                "eval_loss_sd": g["eval/loss"].std(ddof=1) if len(g) > 1 else float("nan"),
                "delta_loss": iv.estimate,
                "ci_low": iv.low,
                "ci_high": iv.high,
                "delta_ppl_pct": 100 * (np.exp(iv.estimate) - 1),
                "n_params": int(g["n_params"].iloc[0]),
                "params_ratio": g["n_params"].iloc[0] / base["n_params"].iloc[0],
                "flops_ratio": g["flops_per_token"].iloc[0] / base["flops_per_token"].iloc[0],
                "step_time_ratio": float(np.exp(np.log(step_ratio).mean())),
                "eval_time_ratio": float(g["eval_time_ratio"].median()),
                "eval_time_explicit_ratio": float(
                    (g["eval_time_ms"] / g["eval_time_explicit_ms"]).median()
                ),
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
    """The papers' numbers (each in its own unit) beside this run's Δ loss and interval."""
    here = table.set_index("variant")
    out = PUBLISHED.copy()
    for col in ("delta_loss", "ci_low", "ci_high"):
        out[col] = [here.loc[v, col] if v in here.index else np.nan for v in out["variant"]]
    return out


# --- display ---------------------------------------------------------------------------------

LABELS = {
    "variant": "变体 · variant",
    "version": "版本 · version",
    "seeds": "种子 · seeds",
    "eval_loss": "验证损失 · eval/loss",
    "delta_loss": "Δ 损失 · Δ loss",
    "interval": "95% 区间 · 95% interval",
    "params_ratio": "参数 × · params ×",
    "flops_ratio": "FLOPs ×",
    "eval_time_explicit_ratio": "推理时间 ×（显式基线）· eval time × explicit",
    "diverged": "发散 · diverged",
    "setting": "论文设置 · published setting",
    "unit": "单位 · unit",
    "published": "论文数值 · published",
    "lr": "学习率 · lr",
    "loss": "验证损失 · eval/loss",
    "matched": "基线对齐 · baseline matched to",
}
UNITS = {
    "Δloss": "Δ 损失 · Δloss",
    "MLM accuracy, points": "MLM 准确率（百分点）· MLM accuracy, points",
}


def matched_label(what: str) -> str:
    """ "FLOPs of v3_m1" / "time of mudd" (the fairness tier's keys) in both languages."""
    kind, _, variant = what.partition(" of ")
    zh = {"FLOPs": f"与 {variant} 同等 FLOPs", "time": f"与 {variant} 同等用时"}.get(kind, what)
    return f"{zh} · {what}"


def with_interval(table: pd.DataFrame, low: str = "ci_low", high: str = "ci_high"):
    """``table`` with one "[low, high]" column in place of two."""
    out = table.copy()
    out.insert(
        out.columns.get_loc(low),
        "interval",
        [interval(a, b) for a, b in zip(out[low], out[high], strict=True)],
    )
    return out.drop(columns=[low, high])


def show(table: pd.DataFrame) -> pd.DataFrame:
    """The variant table for the page (the reader's rule; the CSV has every column)."""
    cols = ["variant", "delta_loss", "ci_low", "ci_high", "params_ratio", "flops_ratio"]
    cols += ["eval_time_explicit_ratio", "diverged"]
    return for_reader(with_interval(table[cols]), ["variant"], LABELS)


def show_published(table: pd.DataFrame) -> pd.DataFrame:
    """The published relatives beside this run's numbers, for the page."""
    shown = table.assign(unit=table["unit"].map(lambda u: UNITS.get(u, u)))
    return for_reader(with_interval(shown), ["variant", "setting"], LABELS)


# --- `ptlab results` for a residual study ----------------------------------------------------

RUN_COLUMNS = [
    "residual",
    "seed",
    "eval/loss",
    "eval/ppl",
    "n_params",
    "status",
    "step_ms",
    "eval_time_ms",
    "eval_time_ratio",
]


def is_residual_study(runs: pd.DataFrame) -> bool:
    """True when the runs vary the residual variant (every switch on)."""
    return "residual" in runs and bool((runs["residual"] != "baseline").any())


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run with the residual study's columns (the variant, not the ten switches)."""
    return runs[[c for c in RUN_COLUMNS if c in runs]]


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per variant (and depth, steps or rate where they vary in the study): runs, mean,
    sd and the 95 % t interval of eval/loss, and the median eval-time ratio."""
    ok = runs[runs["status"] == "ok"]
    varying = [k for k in ("n_layers", "steps", "lr") if k in ok and ok[k].nunique() > 1]
    keys = ["residual", *varying]
    rows = []
    for key, g in ok.groupby(keys, sort=False):
        iv = t_interval(g["eval/loss"].to_numpy())
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(
            n=len(g),
            mean=iv.estimate,
            std=float(g["eval/loss"].std(ddof=1)) if len(g) > 1 else float("nan"),
            ci_low=iv.low,
            ci_high=iv.high,
            eval_time_ratio=float(g["eval_time_ratio"].median()),
        )
        rows.append(row)
    return pd.DataFrame(rows)
