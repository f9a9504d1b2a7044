"""Figures of the switch analysis (matplotlib / seaborn / shap), shared by the chapters."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import shap

from ptlab.analysis.interactions import cell_means, pair_strengths
from ptlab.analysis.table import SwitchTable


def numbered(names, number: dict[str, int]) -> list[str]:
    """'3 use_rms_norm' style labels (the univariate ranking numbers the switches)."""
    return [f"{number[n]} {n}" for n in names]


def shap_summary(t: SwitchTable, values: np.ndarray, number: dict[str, int]):
    """Beeswarm (red = on, blue = off) beside the mean |SHAP| bar, ordered by rank."""
    order = sorted(t.X.columns, key=number.get)
    idx = [list(t.X.columns).index(s) for s in order]
    expl = shap.Explanation(
        values[:, idx], data=t.X[order].to_numpy(), feature_names=numbered(order, number)
    )
    fig = plt.figure(figsize=(13, 4.8))
    ax1 = fig.add_subplot(1, 2, 1)
    shap.plots.beeswarm(
        expl,
        max_display=10,
        order=list(range(10)),
        show=False,
        ax=ax1,
        plot_size=None,
        color_bar=False,
    )
    ax1.set_title("SHAP（红 = 开 · red = on，蓝 = 关 · blue = off）")
    ax2 = fig.add_subplot(1, 2, 2)
    m = np.abs(values[:, idx]).mean(axis=0)
    ax2.barh(numbered(order, number)[::-1], m[::-1], color="#1f77b4")
    ax2.set(xlabel="mean |SHAP|", title="单开关影响强度 · strength")
    fig.tight_layout()
    return fig


def pair_heatmap(t: SwitchTable, iv: np.ndarray, number: dict[str, int]):
    """Mean |SHAP interaction| of every pair, switches in rank order."""
    cols = list(t.X.columns)
    order = sorted(cols, key=number.get)
    s = pair_strengths(iv)
    idx = [cols.index(c) for c in order]
    m = pd.DataFrame(
        s[np.ix_(idx, idx)],
        index=[str(number[c]) for c in order],
        columns=[str(number[c]) for c in order],
    )
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    sns.heatmap(
        m,
        annot=True,
        fmt=".3f",
        cmap="viridis",
        ax=ax,
        annot_kws={"size": 7},
        mask=np.eye(len(order), dtype=bool),
    )
    ax.set(
        title="二元交互强度 · mean |interaction|",
        xlabel="开关编号 · switch #",
        ylabel="开关编号 · switch #",
    )
    fig.tight_layout()
    return fig


def dependence_gallery(t: SwitchTable, values: np.ndarray, number: dict[str, int]):
    """All 45 pairs: SHAP of the lower-numbered switch vs its value, coloured by its partner."""
    cols = list(t.X.columns)
    order = sorted(cols, key=number.get)
    pairs = list(itertools.combinations(order, 2))
    fig, axes = plt.subplots(5, 9, figsize=(18, 10.5))
    rng = np.random.default_rng(0)
    for ax, (a, b) in zip(axes.flat, pairs, strict=True):
        x = t.X[a].to_numpy() + rng.uniform(-0.18, 0.18, t.n)
        ax.scatter(
            x, values[:, cols.index(a)], c=t.X[b].to_numpy(), cmap="coolwarm", s=5, vmin=0, vmax=1
        )
        ax.set_xticks([0, 1])
        ax.set_title(f"{number[a]} × {number[b]}", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("SHAP", fontsize=8)
    fig.suptitle(
        "依赖图：横轴为前一个开关的取值，颜色为后一个开关（红 = 开）· "
        "dependence: x = first switch, colour = partner (red = on)"
    )
    fig.tight_layout()
    return fig


def cell_bars(t: SwitchTable, groups: list[list[str]], number: dict[str, int], ncols: int = 3):
    """The mean metric (± sd) in every on/off cell of each group of switches, as points with
    intervals: a bar would need an axis from zero, and a truncated one exaggerates the gaps."""
    nrows = int(np.ceil(len(groups) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows), squeeze=False)
    for ax, g in zip(axes.flat, groups, strict=False):
        c = cell_means(t, g)
        labels = ["".join(str(int(v)) for v in row) for row in c[g].to_numpy()]
        x = np.arange(len(labels))
        ax.errorbar(x, c["mean"], yerr=c["std"].fillna(0), fmt="o", color="#4c72b0", capsize=3)
        ax.set_xticks(x, labels)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        lo, hi = (c["mean"] - c["std"].fillna(0)).min(), (c["mean"] + c["std"].fillna(0)).max()
        ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
        ax.set_title(
            " / ".join(f"{number[s]}" for s in g) + "  (" + ", ".join(g) + ")", fontsize=7.5
        )
        ax.set_ylabel(t.metric)
        for i, n in enumerate(c["count"]):
            ax.annotate(f"n={n}", (i, lo), fontsize=6, ha="center", va="bottom")
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def comparison_panels(long: pd.DataFrame, title: str):
    """Note 2's five views of one comparison: box, violin, histogram + KDE, ECDF, stats bar."""
    fig, axes = plt.subplots(1, 5, figsize=(19, 3.6))
    sns.boxplot(long, x="condition", y="value", ax=axes[0], fliersize=2)
    sns.violinplot(long, x="condition", y="value", ax=axes[1], cut=0)
    sns.histplot(
        long,
        x="value",
        hue="condition",
        kde=True,
        ax=axes[2],
        stat="density",
        common_norm=False,
        element="step",
    )
    sns.ecdfplot(long, x="value", hue="condition", ax=axes[3])
    st = long.groupby("condition", sort=False)["value"].agg(["mean", "std", "median"])
    st.plot.bar(ax=axes[4], rot=0)
    for ax in axes[:2]:
        ax.tick_params(axis="x", labelsize=7)
    axes[4].tick_params(axis="x", labelsize=7)
    axes[0].set_title("箱线图 · box"), axes[1].set_title("小提琴图 · violin")
    axes[2].set_title("直方图 + KDE · hist + KDE")
    axes[3].set_title("ECDF"), axes[4].set_title("统计量 · stats")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def forest(effects: pd.DataFrame, noise_sd: float, top: int = 20):
    """Effects (on − off, = 2β) with 95% CIs, strongest first; the band is ± the seed sd."""
    e = effects.reindex(effects["estimate"].abs().sort_values(ascending=False).index).head(top)
    e = e.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(e) + 1.2))
    y = np.arange(len(e))
    colors = np.where(e["p_adjusted"] < 0.05, "#c44e52", "#8c8c8c")
    ax.hlines(y, 2 * e["ci_low"], 2 * e["ci_high"], colors=colors, lw=1.5)
    ax.scatter(2 * e["estimate"], y, c=colors, zorder=3, s=14)
    ax.axvspan(-noise_sd, noise_sd, color="#dddddd", zorder=0, label="± 种子标准差 · seed sd")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, e["term"], fontsize=7)
    ax.set_xlabel("效应 · effect on − off (2β)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def confirmation_forest(tables: dict[str, pd.DataFrame]):
    """Each confirmation experiment's effects (``confirm.compare_screening``) with 95% CIs,
    filled where confirmed; the screening sweep's estimate of the same term, where it has one,
    as a hollow grey marker with its interval below."""
    rows = [(name, r) for name, t in tables.items() for r in t.itertuples()]
    fig, ax = plt.subplots(figsize=(8.5, 0.34 * len(rows) + 1.4))
    for i, (_, r) in enumerate(reversed(rows)):
        color = "#c44e52" if r.confirmed else "#4c72b0"
        ax.hlines(i, r.effect_low, r.effect_high, colors=color, lw=1.6)
        ax.scatter([r.effect], [i], color=color, zorder=3, s=16)
        if not np.isnan(r.screen_effect):
            ax.hlines(i - 0.3, r.screen_low, r.screen_high, colors="#999999", lw=1)
            ax.scatter(
                [r.screen_effect],
                [i - 0.3],
                facecolors="none",
                edgecolors="#777777",
                s=14,
                zorder=3,
            )
    ax.axvline(0, color="k", lw=0.8)
    labels = [f"{r.term.replace(':', ' × ')}   [{name}]" for name, r in reversed(rows)]
    ax.set_yticks(range(len(rows)), labels, fontsize=6.5)
    ax.set_xlabel("效应 · effect on − off (2β), 95% CI")
    ax.scatter([], [], color="#c44e52", s=16, label="确认 · confirmed")
    ax.scatter([], [], color="#4c72b0", s=16, label="未确认 · not confirmed")
    ax.scatter([], [], facecolors="none", edgecolors="#777777", s=14, label="筛选设计 · screening")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig
