"""Figures of the residual chapter (the book's figure rule: ≤ 7.2 in wide, ≤ 3 panels a row,
≥ 9 pt text): the screen's paired Δ of every variant, the confirmation's Δ beside the
baseline's curve, and the learned cross-layer weights. Labels carry both languages.
Shown in: chapter *residual*.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ptlab.residual.tiers import FAMILIES

FAMILY_COLOURS = dict(zip(FAMILIES, sns.color_palette("tab10", len(FAMILIES)), strict=True))


def family_of(name: str) -> str:
    return next((f for f, members in FAMILIES.items() if name in members), "other")


def forest(table: pd.DataFrame, ax, detectable: float | None = None) -> None:
    """Paired Δ eval/loss with its interval, one row per variant (baseline left out), coloured
    by family; zero marked; a band of ±``detectable`` (the smallest detectable effect)."""
    t = table[table["variant"] != "baseline"].reset_index(drop=True)
    y = np.arange(len(t))
    for i, r in t.iterrows():
        colour = FAMILY_COLOURS.get(family_of(r["variant"]), "grey")
        lo, hi = r["ci_low"], r["ci_high"]
        if math.isfinite(lo) and math.isfinite(hi):
            ax.plot([lo, hi], [i, i], color=colour, lw=1.6)
        ax.plot(r["delta_loss"], i, "o", color=colour, ms=4)
    if detectable:
        ax.axvspan(-detectable, detectable, color="0.9", zorder=0)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, t["variant"])
    ax.invert_yaxis()
    ax.set_xlabel("Δ 验证损失（相对基线）· Δ eval/loss vs baseline (nats/byte)")


def screen_figure(table: pd.DataFrame):
    """Every variant's screen Δ with its 95 % interval (one panel; the long tail clipped to the
    axis and marked)."""
    t = table[table["variant"] != "baseline"]
    fig, ax = plt.subplots(figsize=(4.6, 0.2 * len(t) + 1.2))
    forest(table, ax)
    lim = np.nanpercentile(np.abs(t[["ci_low", "ci_high"]].to_numpy()), 90) * 1.3
    ax.set_xlim(-lim, lim)
    for i, r in enumerate(t.itertuples()):
        if abs(r.delta_loss) > lim:  # beyond the axis: say where it is
            ax.annotate(
                f"{r.delta_loss:+.2f} →" if r.delta_loss > 0 else f"← {r.delta_loss:+.2f}",
                (lim if r.delta_loss > 0 else -lim, i),
                ha="right" if r.delta_loss > 0 else "left",
                va="center",
                fontsize=9,
            )
    handles = [plt.Line2D([], [], color=c, lw=2) for c in FAMILY_COLOURS.values()]
    ax.legend(handles, list(FAMILY_COLOURS), loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def confirmation_figure(table: pd.DataFrame, curves: pd.DataFrame, detectable: float):
    """Left: the finalists' confirmation Δ (band: the smallest detectable effect). Right: the
    baseline's validation loss over training, one line per seed."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.6), width_ratios=[1.2, 1])
    forest(table, ax1, detectable)
    ax1.set_xlabel("Δ 验证损失 · Δ eval/loss")
    base = curves[curves["residual"] == "baseline"]
    for seed, g in base.groupby("seed"):
        ax2.plot(g["step"], g["eval_loss"], marker="o", ms=3, lw=1.2, label=f"seed {seed}")
    ax2.set(xlabel="训练步数 · step", ylabel="基线验证损失 · baseline eval/loss")
    fig.tight_layout()
    return fig


def connection_heatmaps(mats: dict[str, np.ndarray], ylabel: str = "目标层 · target layer"):
    """Learned cross-layer weights (rows: target layer, columns: source), three panels a row."""
    mats = {k: v for k, v in mats.items() if v.size}
    n = max(1, len(mats))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.flat[len(mats) :]:
        ax.set_visible(False)
    for ax, (name, m) in zip(axes.flat, mats.items(), strict=False):
        sns.heatmap(
            m,
            ax=ax,
            annot=True,
            fmt=".2f",
            cmap="viridis",
            cbar=False,
            annot_kws={"size": 9},
            mask=np.isnan(m),
        )
        ax.set(title=name, xlabel="来源 · source", ylabel=ylabel)
    fig.tight_layout()
    return fig
