"""Pruning strategies of the lab's Note 5 (book/en/notes.md) and their references, evaluated as
loss-vs-fraction curves.

A strategy is an *order* of the N heads (prune the first k); the layer-band strategy is a set
per k. Curves evaluate L(gates = 1 − 1_P) for k = 0..N on a held-out set; every mask of a
curve goes through one batched call (``losses_at_many``).
"""

from __future__ import annotations

import numpy as np
import torch

from ptlab.attribution.losses import EvalSet, losses_at_many
from ptlab.attribution.scores import michel

BAND_RATIOS = (0.20, 0.30, 0.15)  # shallow / middle / deep, the note's strategy 3


def masks_from_sets(sets: list[np.ndarray], N: int) -> torch.Tensor:
    """Gate rows [len(sets), N]: ones with each set's heads zeroed."""
    rows = torch.ones(len(sets), N)
    for i, s in enumerate(sets):
        rows[i, torch.as_tensor(np.asarray(s, dtype=int), dtype=torch.long)] = 0.0
    return rows


def prefix_sets(order: np.ndarray) -> list[np.ndarray]:
    """The pruned sets of an order: first k heads, for k = 0..N."""
    return [order[:k] for k in range(len(order) + 1)]


def strategy_orders(ig: np.ndarray, michel_abs: np.ndarray, loo: np.ndarray) -> dict:
    """The note's and the references' static orders (first = pruned first).

    abs_ig: |IG| ascending (note's strategy 1). Strategy 2 has two readings in the note:
    signed_ig, its prose ("remove IG > 0 and large first, then |IG| ≈ 0, keep large negative"):
    signed IG descending; signed_ig_code, its code (importance = IG for IG ≥ 0 and |IG| + 100
    for IG < 0, prune the lowest): the smallest positive first, then the larger positive, the
    negative last by |IG|. michel: I_h ascending; loo: Δ_h ascending (Michel's oracle).
    """
    code_importance = np.where(ig < 0, np.abs(ig) + 100.0, ig)
    return {
        "abs_ig": np.argsort(np.abs(ig), kind="stable"),
        "signed_ig": np.argsort(-ig, kind="stable"),
        "signed_ig_code": np.argsort(code_importance, kind="stable"),
        "michel": np.argsort(michel_abs, kind="stable"),
        "loo": np.argsort(loo, kind="stable"),
    }


def layer_bands(n_layers: int) -> list[np.ndarray]:
    """Depth thirds: shallow, middle, deep (4 layers: {0}, {1, 2}, {3})."""
    third = max(1, n_layers // 3)
    layers = np.arange(n_layers)
    if n_layers == 1:
        return [layers, layers[:0], layers[:0]]
    return [layers[:third], layers[third : n_layers - third], layers[n_layers - third :]]


def band_counts(sizes: list[int], k: int, ratios=BAND_RATIOS) -> list[int]:
    """Heads to prune per band for a total of k: the ratio vector scaled by c (capped at the
    band size), rounded by largest remainder. Used so the note's 20/30/15 % reach any k."""
    sizes = np.asarray(sizes, dtype=float)
    r = np.asarray(ratios, dtype=float) * (sizes > 0)
    if k >= sizes.sum():
        return [int(s) for s in sizes]
    lo, hi = 0.0, 1.0 / max(r[r > 0].min(), 1e-9)
    for _ in range(100):  # bisection on c: Σ min(n_b, c r_b n_b) = k
        c = (lo + hi) / 2
        lo, hi = (c, hi) if np.minimum(sizes, c * r * sizes).sum() < k else (lo, c)
    x = np.minimum(sizes, hi * r * sizes)
    base = np.floor(x).astype(int)
    rem = k - base.sum()
    for b in np.argsort(-(x - base), kind="stable"):
        if rem <= 0:
            break
        if base[b] < sizes[b]:
            base[b] += 1
            rem -= 1
    return [int(b) for b in base]


def band_sets(ig: np.ndarray, n_layers: int, n_heads: int, ratios=BAND_RATIOS) -> list:
    """For k = 0..N, the heads pruned by the layer-band strategy (lowest |IG| in each band)."""
    bands = [
        np.concatenate([np.arange(l * n_heads, (l + 1) * n_heads) for l in b]).astype(int)
        if len(b)
        else np.array([], dtype=int)
        for b in layer_bands(n_layers)
    ]
    ranked = [b[np.argsort(np.abs(ig[b]), kind="stable")] for b in bands]
    sets = []
    for k in range(n_layers * n_heads + 1):
        counts = band_counts([len(b) for b in bands], k, ratios)
        sets.append(np.concatenate([r[:c] for r, c in zip(ranked, counts, strict=True)]))
    return sets


def curve(model, es: EvalSet, sets: list[np.ndarray]) -> np.ndarray:
    """Loss after pruning each set (each distinct set evaluated once: the orders share their
    first and last sets and often more)."""
    N = model.cfg.n_gates
    rows, inverse = torch.unique(masks_from_sets(sets, N), dim=0, return_inverse=True)
    return losses_at_many(model, es, rows).numpy()[inverse.numpy()]


def greedy(model, es: EvalSet) -> tuple[np.ndarray, np.ndarray]:
    """Greedy oracle: at each step drop the head whose removal raises the loss least on ``es``.
    Returns (order, losses on ``es`` for k = 0..N); N(N+1)/2 evaluations. Fitted on ``es``: its
    losses there are in-sample; evaluate the order on other windows for a fair curve."""
    N = model.cfg.n_gates
    pruned: list[int] = []
    losses = [float(losses_at_many(model, es, torch.ones(1, N))[0])]
    for _ in range(N):
        cand = [h for h in range(N) if h not in pruned]
        L = losses_at_many(model, es, masks_from_sets([[*pruned, h] for h in cand], N))
        j = int(torch.argmin(L))
        pruned.append(cand[j])
        losses.append(float(L[j]))
    return np.array(pruned), np.array(losses)


def michel_iterative(model, es: EvalSet) -> np.ndarray:
    """Michel et al.'s iterative pruning: recompute I_h (layer-normalised |∂L/∂ξ_h|) on the
    pruned model after each removal and drop the remaining head with the smallest; N backward
    passes. Returns the order (first = pruned first)."""
    N = model.cfg.n_gates
    gates = torch.ones(N)
    order: list[int] = []
    for _ in range(N):
        importance = michel(model, es, gates=gates)
        remaining = np.flatnonzero(gates.numpy() != 0)
        h = int(remaining[np.argmin(importance[remaining])])
        order.append(h)
        gates[h] = 0.0
    return np.array(order)


def random_curves(model, es: EvalSet, n: int = 50, seed: int = 0) -> np.ndarray:
    """[n, N+1] loss curves of random orders."""
    N = model.cfg.n_gates
    rng = np.random.default_rng(seed)
    sets = [s for _ in range(n) for s in prefix_sets(rng.permutation(N))]
    return curve(model, es, sets).reshape(n, N + 1)


def random_subsets(model, es: EvalSet, k: int, n: int = 200, seed: int = 1) -> np.ndarray:
    """Loss after pruning each of n random k-subsets (the note's verification reference)."""
    N = model.cfg.n_gates
    rng = np.random.default_rng(seed)
    return curve(model, es, [rng.choice(N, k, replace=False) for _ in range(n)])


def largest_fraction_within(losses: np.ndarray, tol: float = 0.01) -> float:
    """Largest pruned fraction with (L_k − L_0)/L_0 ≤ tol along a curve."""
    rel = (losses - losses[0]) / losses[0]
    ok = np.flatnonzero(rel <= tol)
    k = int(ok.max()) if len(ok) else 0
    return k / (len(losses) - 1)
