"""Figures of the residual chapter: each version's curves beside its paired Δ, and the learned
cross-layer weights. Shown in: chapter *residual*."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def residual_version(table: pd.DataFrame, curves: pd.DataFrame, names, title: str):
    """One version of the residual study: eval-loss curves of its variants and the baseline
    (mean over seeds, band = min–max over seeds), beside Δ eval/loss against the baseline with
    paired 95 % CIs (point and interval, zero marked: no truncated bars)."""
    names = [n for n in names if n in set(table["variant"])]
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(13, 0.9 + max(3.2, 0.32 * len(names))), width_ratios=[1.1, 1]
    )
    palette = dict(zip(names, sns.color_palette("tab20", len(names)), strict=True))
    for name in ["baseline", *names]:
        c = curves[curves["residual"] == name].groupby("step")["eval_loss"]
        color = "black" if name == "baseline" else palette[name]
        mean = c.mean()
        ax1.plot(
            mean.index,
            mean.to_numpy(),
            color=color,
            lw=2 if name == "baseline" else 1.2,
            label=name,
        )
        ax1.fill_between(
            mean.index, c.min().to_numpy(), c.max().to_numpy(), color=color, alpha=0.12
        )
    ax1.set(title=title, xlabel="训练步数 · step", ylabel="验证损失 · eval/loss (nats/byte)")
    ax1.legend(fontsize=7, ncol=2)
    t = table.set_index("variant").loc[names]
    y = np.arange(len(names))
    err = np.vstack([t["delta_loss"] - t["ci_low"], t["ci_high"] - t["delta_loss"]])
    ax2.errorbar(
        t["delta_loss"],
        y,
        xerr=np.nan_to_num(err),
        fmt="o",
        color="tab:blue",
        ecolor="tab:blue",
        capsize=3,
    )
    ax2.axvline(0, color="black", lw=1)
    ax2.set_yticks(y, names)
    ax2.invert_yaxis()
    ax2.set(xlabel="Δ 验证损失（相对基线，95% CI）· Δ eval/loss vs baseline (95% CI)")
    fig.tight_layout()
    return fig


def connection_heatmaps(mats: dict[str, np.ndarray], ylabel: str = "目标层 · target layer"):
    """Learned cross-layer weights (rows: target layer, columns: source), one panel each."""
    mats = {k: v for k, v in mats.items() if v.size}
    fig, axes = plt.subplots(1, max(1, len(mats)), figsize=(3.6 * max(1, len(mats)), 3.2))
    axes = np.atleast_1d(axes)
    for ax, (name, m) in zip(axes, mats.items(), strict=False):
        sns.heatmap(
            m,
            ax=ax,
            annot=True,
            fmt=".2f",
            cmap="viridis",
            cbar=False,
            annot_kws={"size": 7},
            mask=np.isnan(m),
        )
        ax.set(title=name, xlabel="来源 · source", ylabel=ylabel)
    fig.tight_layout()
    return fig
