"""Figures of the circuits chapter: a circuit drawing (its nodes by layer and location, its
edges as ``edges.edge_blocks`` defines them) and the frontier (edges against pretraining loss).
Labels carry both languages ("层 · layer"). Shown in: chapter *circuits*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ptlab.circuits.edges import edge_blocks
from ptlab.circuits.model import LOCATIONS, NodeIndex

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


def node_positions(model, keep: torch.Tensor) -> dict[tuple[int, str, int], tuple[float, float]]:
    """(layer, location, channel) → (x, y): one column per site, kept channels stacked."""
    index = NodeIndex(model.cfg)
    pos = {}
    for col, (layer, loc) in enumerate(index.slices):
        kept = keep[index.slices[(layer, loc)]].nonzero().flatten().tolist()
        for row, ch in enumerate(kept):
            pos[(layer, loc, ch)] = (float(col), row - (len(kept) - 1) / 2)
    return pos


def draw_circuit(ax, model, keep: torch.Tensor, title: str = "") -> None:
    """Nodes (labelled by channel) and edges of the kept subgraph of ``model``."""
    pos = node_positions(model, keep)
    styles = {"weight": ("-", "#555555"), "qk": (":", "#8172b3"), "resid": ("--", "#bbbbbb")}
    for (ls, ll), (ts, tl), block in edge_blocks(model, keep):
        kind = (
            "qk"
            if (ll, tl) == ("attn_q", "attn_k")
            else ("resid" if ll.endswith("_out") and tl.endswith("_in") else "weight")
        )
        style, colour = styles[kind]
        for t, s in block.nonzero().tolist():
            (x0, y0), (x1, y1) = pos[(ls, ll, s)], pos[(ts, tl, t)]
            ax.plot([x0, x1], [y0, y1], style, color=colour, lw=0.8, zorder=1)
    for (_, loc, ch), (x, y) in pos.items():
        ax.scatter([x], [y], s=160, color=COLOURS[loc], zorder=2)
        ax.text(x, y, str(ch), ha="center", va="center", fontsize=6, color="white", zorder=3)
    n_sites = model.cfg.n_layers * len(LOCATIONS)
    ax.set_xticks(range(n_sites))
    ax.set_xticklabels(
        [f"L{i // len(LOCATIONS)} {SHORT[LOCATIONS[i % len(LOCATIONS)]]}" for i in range(n_sites)],
        rotation=60,
        fontsize=7,
    )
    ax.set_yticks([])
    ax.set_xlim(-0.7, n_sites - 0.3)
    for layer in range(1, model.cfg.n_layers):
        ax.axvline(layer * len(LOCATIONS) - 0.5, color="#dddddd", lw=1, zorder=0)
    ax.set_title(title, fontsize=9)


def frontier(ax, points: pd.DataFrame, task: str) -> None:
    """Edges (log) against pretraining loss, one marker per model, sparse and dense apart;
    ``points`` has model, kind, pretrain_loss, edges (one row per pruning seed)."""
    for kind, marker, colour in (("dense", "o", "#4c72b0"), ("sparse", "s", "#c44e52")):
        p = points[points["kind"] == kind]
        if p.empty:
            continue
        g = p.groupby(["model", "pretrain_loss"])["edges"]
        mid = g.apply(lambda e: float(np.exp(np.log(e.clip(lower=1)).mean()))).reset_index()
        ax.scatter(
            p["pretrain_loss"],
            p["edges"].clip(lower=1),
            marker=marker,
            color=colour,
            alpha=0.35,
            s=18,
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
