"""Figures of the circuits chapter: a circuit drawing (its kept nodes per layer and location and
the edges between those sites, as ``edges.site_counts`` counts them; a drawing per node would be
unreadable at hundreds of nodes) and the frontier (edges against pretraining loss).
Labels carry both languages ("层 · layer"). Shown in: chapter *circuits*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ptlab.circuits.edges import site_counts
from ptlab.circuits.model import LOCATIONS

SHORT = {
    "attn_in": "a_in",
    "attn_q": "q",
    "attn_k": "k",
    "attn_v": "v",
    "attn_out": "a_out",
    "mlp_in": "m_in",
    "mlp_neuron": "neuron",
    "mlp_out": "m_out",
}
COLOURS = {
    "attn_in": "#4c72b0",
    "attn_q": "#8172b3",
    "attn_k": "#8172b3",
    "attn_v": "#8172b3",
    "attn_out": "#4c72b0",
    "mlp_in": "#55a868",
    "mlp_neuron": "#c44e52",
    "mlp_out": "#55a868",
}


X = {
    "attn_in": 0,
    "attn_q": 1,
    "attn_k": 2,
    "attn_v": 3,
    "attn_out": 4,
    "mlp_in": 5,
    "mlp_neuron": 6,
    "mlp_out": 7,
}
Y = {"attn_q": 1.3, "attn_k": 1.0, "attn_v": 0.7, "mlp_neuron": 1.0}  # the rest: 0 (residual)


def site_xy(layer: int, loc: str) -> tuple[float, float]:
    return float(len(X) * layer + X[loc]), Y.get(loc, 0.0)


def draw_circuit(ax, model, keep: torch.Tensor, title: str = "") -> None:
    """A circuit per site: a disc per (layer, location) sized and labelled by its kept nodes,
    a line per pair of sites with edges, labelled by their number (solid: weights, dotted:
    q–k pairs, dashed arcs: residual write → read)."""
    nodes, links = site_counts(model, keep)
    into: dict[tuple, int] = {}  # residual labels stack up beside their read site
    for (s, t), n in links.items():
        if n == 0:
            continue
        (x0, y0), (x1, y1) = site_xy(*s), site_xy(*t)
        resid = s[1].endswith("_out") and t[1].endswith("_in")
        style = "--" if resid else (":" if s[1] == "attn_q" else "-")
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops=dict(
                arrowstyle="-",
                ls=style,
                lw=0.6 + np.log10(n),
                color="#999999" if resid else "#555555",
                connectionstyle=f"arc3,rad={0.3 if resid else 0.0}",
            ),
            zorder=1,
        )
        if resid:
            i = into[t] = into.get(t, -1) + 1
            mx, my = x1 - 0.3, y1 - 0.35 - 0.28 * i
        else:
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        ax.text(
            mx,
            my,
            str(n),
            fontsize=9,
            ha="center",
            va="center",
            color="#333333",
            bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8),
            zorder=3,
        )
    for (layer, loc), n in nodes.items():
        if n:
            x, y = site_xy(layer, loc)
            ax.scatter([x], [y], s=160 + 40 * np.sqrt(n), color=COLOURS[loc], zorder=2)
            ax.text(x, y, str(n), ha="center", va="center", fontsize=9, color="white", zorder=4)
    n_sites = model.cfg.n_layers * len(LOCATIONS)
    ax.set_xticks(range(n_sites))
    ax.set_xticklabels(
        [f"L{i // len(LOCATIONS)} {SHORT[LOCATIONS[i % len(LOCATIONS)]]}" for i in range(n_sites)],
        rotation=60,
        fontsize=9,
    )
    ax.set_yticks([])
    ax.set_xlim(-0.7, n_sites - 0.3)
    ax.set_ylim(-1.4, 1.7)
    for layer in range(1, model.cfg.n_layers):
        ax.axvline(layer * len(LOCATIONS) - 0.5, color="#dddddd", lw=1, zorder=0)
    ax.set_title(title, fontsize=10)


def frontier(ax, points: pd.DataFrame, task: str) -> None:
    """Edges (log) against pretraining loss: a light marker per circuit (training seed ×
    pruning seed) and a line through each kind's per-model geometric means (at the model's
    mean loss over training seeds); ``points`` has model, kind, pretrain_loss, edges."""
    for kind, marker, colour in (("dense", "o", "#4c72b0"), ("sparse", "s", "#c44e52")):
        p = points[points["kind"] == kind]
        if p.empty:
            continue
        ax.scatter(
            p["pretrain_loss"],
            p["edges"].clip(lower=1),
            marker=marker,
            color=colour,
            alpha=0.35,
            s=18,
        )
        mid = p.groupby("model").agg(
            pretrain_loss=("pretrain_loss", "mean"),
            edges=("edges", lambda e: float(np.exp(np.log(e.clip(lower=1)).mean()))),
        )
        mid = mid.sort_values("pretrain_loss")
        ax.plot(
            mid["pretrain_loss"],
            mid["edges"],
            marker=marker,
            color=colour,
            label="稠密 · dense" if kind == "dense" else "稀疏 · sparse",
        )
    ax.set_yscale("log")
    ax.set(title=task, xlabel="预训练损失 · pretraining loss", ylabel="边数 · edges")


def ratios(ax, summary: pd.DataFrame, size: str, band: tuple[float, float]) -> None:
    """Each sparse model's geometric-mean ratio sparse/dense of ``size`` (edges or nodes) with
    its 95 % interval (filled: all cells; open: without outliers), a line at 1 and the shaded
    band of the paper's claim."""
    s = summary[summary["size"] == size].reset_index(drop=True)
    y = np.arange(len(s))
    ax.axvspan(*band, color="#f2d7a6", alpha=0.6, lw=0, label="论文 16× ±2 倍 · paper 16× ±2×")
    ax.axvline(1.0, color="grey", ls=":", lw=1)
    ax.errorbar(
        s["ratio"],
        y,
        xerr=[s["ratio"] - s["low"], s["high"] - s["ratio"]],
        fmt="o",
        color="#c44e52",
        capsize=3,
        label="全部单元 · all cells",
    )
    ax.errorbar(
        s["ratio_trimmed"],
        y + 0.25,
        xerr=[s["ratio_trimmed"] - s["low_trimmed"], s["high_trimmed"] - s["ratio_trimmed"]],
        fmt="o",
        mfc="white",
        color="#8c8c8c",
        capsize=3,
        label="去离群值 · without outliers",
    )
    ax.set_xscale("log")
    ax.set_yticks(y + 0.12)
    ax.set_yticklabels(s["model"], fontsize=9)
    ax.set_ylim(-0.6, len(s) - 0.1)
    name = "边数比 · edge ratio" if size == "edges" else "节点数比 · node ratio"
    ax.set(xlabel="稀疏/稠密 · sparse/dense", title=name)
