"""Figures of the switch analysis (matplotlib / seaborn / shap), shared by the chapters. Every
figure follows the book's figure rule (``ptlab.book.plotting``: ≤ 7.2 in wide, ≤ 3 panels a
row, text ≥ 9 pt, legends off the data) and names switches by their short names
(``ptlab.models.short_name``), never by a number."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import shap

from ptlab.analysis.interactions import cell_means, pair_strengths
from ptlab.analysis.table import SwitchTable
from ptlab.book.plotting import MAX_WIDTH_IN, legend_outside
from ptlab.models import SWITCHES, short_name

ON_OFF = {True: "开 · on", False: "关 · off"}


def _by_switch(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """Long table (value, switch short name, on/off label) for a box plot per switch."""
    long = frame.melt(
        id_vars=[value], value_vars=list(SWITCHES), var_name="switch", value_name="on"
    )
    long["switch"] = long["switch"].map(short_name)
    long["on"] = long["on"].astype(bool).map(ON_OFF)
    return long


def loss_distribution(ok: pd.DataFrame, metric: str = "eval/loss"):
    """The validation loss of the runs (histogram) and by each switch on / off (box plots)."""
    fig, axes = plt.subplots(
        1, 2, figsize=(MAX_WIDTH_IN, 4.4), gridspec_kw={"width_ratios": [1, 1.5]}
    )
    sns.histplot(ok[metric], bins=20, ax=axes[0])
    axes[0].set(xlabel="验证损失 · eval/loss", ylabel="运行数 · runs", title="分布 · distribution")
    long = _by_switch(ok, metric)
    sns.boxplot(long, y="switch", x=metric, hue="on", ax=axes[1], fliersize=2)
    axes[1].set(title="按开关 · by switch", ylabel="", xlabel="验证损失 · eval/loss")
    legend_outside(axes[1], title="")
    fig.tight_layout()
    return fig


def cost_by_switch(cost: pd.DataFrame):
    """Each run's wall time relative to the all-on (Llama) median, by each switch on / off."""
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 4.2))
    sns.boxplot(_by_switch(cost, "cost"), y="switch", x="cost", hue="on", ax=ax, fliersize=2)
    ax.axvline(1.0, color="grey", lw=1, ls="--")
    ax.set(xlabel="墙钟时间 / 全开 · wall time / all-on (Llama)", ylabel="")
    legend_outside(ax, title="")
    fig.tight_layout()
    return fig


def shap_summary(t: SwitchTable, values: np.ndarray, order: list[str]):
    """Beeswarm (red = on, blue = off) above the mean |SHAP| bar, switches in ``order``."""
    idx = [list(t.X.columns).index(s) for s in order]
    names = [short_name(s) for s in order]
    expl = shap.Explanation(values[:, idx], data=t.X[order].to_numpy(), feature_names=names)
    fig = plt.figure(figsize=(MAX_WIDTH_IN, 7.4))
    ax1 = fig.add_subplot(2, 1, 1)
    shap.plots.beeswarm(
        expl,
        max_display=10,
        order=list(range(10)),
        show=False,
        ax=ax1,
        plot_size=None,
        color_bar=False,
    )
    ax1.set_title("SHAP（红 = 开 · red = on，蓝 = 关 · blue = off）", fontsize=11)
    ax1.set_xlabel("SHAP（对损失的贡献 · contribution to the loss）", fontsize=10)
    ax2 = fig.add_subplot(2, 1, 2)
    m = np.abs(values[:, idx]).mean(axis=0)
    ax2.barh(names[::-1], m[::-1], color="#1f77b4")
    ax2.set(xlabel="平均 |SHAP| · mean |SHAP|", title="单开关影响强度 · strength")
    for a in (ax1, ax2):
        a.tick_params(labelsize=9)
    fig.tight_layout()
    return fig


def pair_heatmap(t: SwitchTable, iv: np.ndarray, order: list[str]):
    """Mean |SHAP interaction| of every pair, switches in ``order``."""
    cols = list(t.X.columns)
    s = pair_strengths(iv)
    idx = [cols.index(c) for c in order]
    names = [short_name(c) for c in order]
    m = pd.DataFrame(s[np.ix_(idx, idx)], index=names, columns=names)
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 6.2))
    sns.heatmap(
        1000 * m,
        annot=True,
        fmt=".0f",
        cmap="viridis",
        ax=ax,
        annot_kws={"size": 9},
        mask=np.eye(len(order), dtype=bool),
        cbar_kws={"label": "× 0.001"},
    )
    ax.set(title="二元交互强度 · mean |interaction| (× 0.001)", xlabel="", ylabel="")
    ax.tick_params(labelsize=9)
    fig.tight_layout()
    return fig


def dependence_panels(t: SwitchTable, values: np.ndarray, pairs: list[tuple[str, str]]):
    """Dependence plots of the given pairs (at most three a row): SHAP of the first switch
    against its value (jittered), coloured by its partner (red = on)."""
    cols = list(t.X.columns)
    ncols = min(3, len(pairs))
    nrows = int(np.ceil(len(pairs) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(MAX_WIDTH_IN, 2.5 * nrows + 0.4), squeeze=False, sharey=False
    )
    rng = np.random.default_rng(0)
    for ax, (a, b) in zip(axes.flat, pairs, strict=False):
        x = t.X[a].to_numpy() + rng.uniform(-0.18, 0.18, t.n)
        ax.scatter(
            x, values[:, cols.index(a)], c=t.X[b].to_numpy(), cmap="coolwarm", s=6, vmin=0, vmax=1
        )
        ax.set_xticks([0, 1], ["关 off", "开 on"])
        ax.set_title(f"{short_name(a)}\n颜色 · colour: {short_name(b)}", fontsize=9)
        ax.tick_params(labelsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("SHAP")
    for ax in list(axes.flat)[len(pairs) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def cell_bars(t: SwitchTable, groups: list[list[str]], ncols: int = 2):
    """The mean metric (± sd) in every on/off cell of each group of switches, as points with
    intervals (a bar would need an axis from zero; a truncated one exaggerates the gaps). The
    cell code lists the switches' states in the order of the panel title (1 = on)."""
    ncols = min(ncols, 3, len(groups))
    nrows = int(np.ceil(len(groups) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(MAX_WIDTH_IN, 3.0 * nrows + 0.3), squeeze=False)
    for ax, g in zip(axes.flat, groups, strict=False):
        c = cell_means(t, g)
        labels = ["".join(str(int(v)) for v in row) for row in c[g].to_numpy()]
        x = np.arange(len(labels))
        sd = c["std"].fillna(0)
        ax.errorbar(x, c["mean"], yerr=sd, fmt="o", color="#4c72b0", capsize=3)
        ax.set_xticks(x, labels)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.set_title(" / ".join(short_name(s) for s in g), fontsize=9)
        ax.set_ylabel(t.metric)
        ax.tick_params(labelsize=9)
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def comparison_panels(long: pd.DataFrame, title: str):
    """Note 2's five views of one comparison (box, violin, histogram + KDE, ECDF, summary
    statistics), three a row."""
    fig, axes = plt.subplots(2, 3, figsize=(MAX_WIDTH_IN, 5.6))
    axes = axes.flat
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
        legend=False,
    )
    sns.ecdfplot(long, x="value", hue="condition", ax=axes[3], legend=False)
    st = long.groupby("condition", sort=False)["value"].agg(["mean", "std", "median"])
    st.plot.bar(ax=axes[4], rot=0)
    legend_outside(axes[4])
    conds = list(dict.fromkeys(long["condition"]))
    colors = sns.color_palette()[: len(conds)]
    handles = [plt.Line2D([], [], color=c, lw=2) for c in colors]
    axes[3].legend(handles, conds, loc="upper left", bbox_to_anchor=(0.0, -0.22), fontsize=9)
    for ax in axes[:2]:
        ax.set(xlabel="", ylabel="eval/loss")
    axes[0].set_title("箱线图 · box"), axes[1].set_title("小提琴图 · violin")
    axes[2].set_title("直方图 + KDE · hist + KDE")
    axes[3].set_title("ECDF"), axes[4].set_title("统计量 · stats")
    axes[2].set_xlabel("eval/loss"), axes[3].set_xlabel("eval/loss"), axes[4].set_xlabel("")
    for ax in axes[:5]:
        ax.tick_params(labelsize=9)
    axes[5].axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def on_off_grid(t: SwitchTable, switches: list[str]):
    """The metric with each switch on and off (violins), one panel per switch, three a row."""
    ncols = min(3, len(switches))
    nrows = int(np.ceil(len(switches) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(MAX_WIDTH_IN, 2.6 * nrows + 0.3), squeeze=False, sharey=True
    )
    for ax, s in zip(axes.flat, switches, strict=False):
        d = pd.DataFrame({"on": t.X[s].astype(bool).map(ON_OFF), "value": t.y})
        sns.violinplot(d, x="on", y="value", ax=ax, cut=0, order=[ON_OFF[False], ON_OFF[True]])
        ax.set(title=short_name(s), xlabel="", ylabel=t.metric)
        ax.tick_params(labelsize=9)
    for ax in list(axes.flat)[len(switches) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def forest(effects: pd.DataFrame, noise_sd: float, top: int = 20):
    """Effects (on − off) with 95% CIs, strongest first; the band is ± the seed sd of one run."""
    e = effects.reindex(effects["effect"].abs().sort_values(ascending=False).index).head(top)
    e = e.iloc[::-1]
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 0.3 * len(e) + 1.4))
    y = np.arange(len(e))
    colors = np.where(e["p_adjusted"] < 0.05, "#c44e52", "#8c8c8c")
    ax.hlines(y, e["effect_low"], e["effect_high"], colors=colors, lw=1.5)
    ax.scatter(e["effect"], y, c=colors, zorder=3, s=14)
    ax.axvspan(-noise_sd, noise_sd, color="#dddddd", zorder=0, label="± 种子标准差 · seed sd")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, [short_name(t) for t in e["term"]], fontsize=9)
    ax.set_xlabel("效应 · effect on − off (nats/byte)")
    legend_outside(ax)
    fig.tight_layout()
    return fig


def confirmation_forest(tables: dict[str, pd.DataFrame]):
    """Each confirmation experiment's effects (``confirm.compare_screening``) with 95% CIs,
    red where confirmed; the screening sweep's estimate of the same term, where it has one,
    as a hollow grey marker with its interval below."""
    rows = [(name, r) for name, t in tables.items() for r in t.itertuples()]
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 0.3 * len(rows) + 1.4))
    for i, (_, r) in enumerate(reversed(rows)):
        color = "#c44e52" if r.confirmed else "#4c72b0"
        ax.hlines(i, r.effect_low, r.effect_high, colors=color, lw=1.6)
        ax.scatter([r.effect], [i], color=color, zorder=3, s=16)
        if np.isfinite(r.screen_effect):
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
    labels = [f"{short_name(r.term)}  [{name}]" for name, r in reversed(rows)]
    ax.set_yticks(range(len(rows)), labels, fontsize=9)
    ax.set_xlabel("效应 · effect on − off (nats/byte), 95% CI")
    ax.scatter([], [], color="#c44e52", s=16, label="确认 · confirmed")
    ax.scatter([], [], color="#4c72b0", s=16, label="其他 · other")
    ax.scatter([], [], facecolors="none", edgecolors="#777777", s=14, label="筛选 · screening")
    legend_outside(ax)
    fig.tight_layout()
    return fig
