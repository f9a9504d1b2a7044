"""What a head attends to: its attention probabilities on real windows, and a few summaries
(to the previous position, to itself, to position 0, mean distance). Shown in: chapter
*attribution* (the most "harmful" and most "useful" heads by IG).

The probabilities are recomputed from the inputs the attention module receives during the
loss's own forward (a pre-hook on the block's attention), so the model sees exactly the
(masked) windows it is scored on; the fast SDPA path itself never materialises them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ptlab.attribution.losses import EvalSet, gated_losses


def attention_probabilities(model, es: EvalSet, layer: int) -> torch.Tensor:
    """softmax(q k^T / √r) of every head of ``layer`` on the set's rows, [R, H, T, T]
    (row i: the query position; message 1, the only one in a Llama block)."""
    calls: list[tuple] = []
    blocks = model.blocks
    attn = blocks[layer if len(blocks) > 1 else 0].attn
    handle = attn.register_forward_pre_hook(lambda _m, args: calls.append(args))
    try:
        with torch.no_grad():
            gated_losses(model, None, *es.args)
    finally:
        handle.remove()
    x, rope, mask, causal = calls[layer if len(blocks) == 1 else 0][:4]
    with torch.no_grad():
        q, k = rope(attn._heads(attn.q_proj(x))), rope(attn._heads(attn.k_proj(x)))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # [R, H, T, T]
        T = scores.shape[-1]
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        elif causal:
            upper = torch.ones(T, T, dtype=torch.bool).triu(1)
            scores = scores.masked_fill(upper, float("-inf"))
        return scores.softmax(dim=-1)


def pattern_summary(probs: torch.Tensor) -> dict[str, float]:
    """One head's attention [R, T, T] summarised: mean probability on the previous position,
    on the next one (bidirectional models; Dream's shifted logits make position i predict byte
    i + 1), on itself, on position 0, and the mean |i − j| (positions in bytes)."""
    p = probs.double()
    T = p.shape[-1]
    i = torch.arange(T)
    dist = (i[:, None] - i[None, :]).abs().double()
    return {
        "to_previous": float(p[:, i[1:], i[1:] - 1].mean()),
        "to_next": float(p[:, i[:-1], i[:-1] + 1].mean()),
        "to_self": float(p[:, i, i].mean()),
        "to_first": float(p[:, 1:, 0].mean()),
        "mean_distance": float((p * dist).sum(-1).mean()),
    }


def head_patterns(model, es: EvalSet, heads: list[int]) -> tuple[dict, dict]:
    """For each head index (layer · H + head): its average map [T, T] (numpy) and summary."""
    H = model.cfg.n_heads
    maps, summaries = {}, {}
    for h in heads:
        probs = attention_probabilities(model, es, h // H)[:, h % H]
        maps[h] = probs.mean(0).numpy()
        summaries[h] = pattern_summary(probs)
    return maps, summaries


def top_heads(ig: np.ndarray) -> dict[str, int]:
    """The most "harmful" (largest IG) and most "useful" (most negative IG) heads."""
    return {"harmful": int(np.argmax(ig)), "useful": int(np.argmin(ig))}
