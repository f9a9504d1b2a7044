"""Bivariate and trivariate scans: cell means, SHAP interaction strengths, and the model-based
three-way interaction of the surrogate (a finite difference over the 2×2×2 cube)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ptlab.analysis.effects import fit_ols
from ptlab.analysis.table import SwitchTable

BITS3 = np.array(list(itertools.product([0, 1], repeat=3)))  # 8 × 3, cell order 000..111
# (−1)^(3 − |bits|): the sign of each cell in the third-order finite difference.
SIGN3 = (-1.0) ** (3 - BITS3.sum(axis=1))


def pair_strengths(iv: np.ndarray) -> np.ndarray:
    """``[10, 10]`` mean over runs of |φ_ij + φ_ji|, the whole pair interaction (diagonal 0)."""
    s = np.abs(iv + iv.transpose(0, 2, 1)).mean(axis=0)
    np.fill_diagonal(s, 0.0)
    return s


def cell_means(t: SwitchTable, switches: list[str]) -> pd.DataFrame:
    """Mean, sd and count of the metric in every on/off cell of the given switches."""
    g = pd.concat([t.X[switches], t.y], axis=1).groupby(switches)[t.metric]
    out = g.agg(["mean", "std", "count"]).reset_index()
    return out


def _best_cell(t: SwitchTable, switches: list[str], lower_is_better: bool) -> tuple:
    cells = cell_means(t, switches)
    row = cells.loc[cells["mean"].idxmin() if lower_is_better else cells["mean"].idxmax()]
    return float(row["mean"]), int(row["count"]), [bool(row[s]) for s in switches]


def pair_scan(t: SwitchTable, iv: np.ndarray, lower_is_better: bool = True) -> pd.DataFrame:
    """Note 1's pair table: switch1, switch2, best_loss, best_count, switch1_val, switch2_val,
    interaction_strength; one row per pair (names in alphabetical order), sorted by best_loss."""
    strength = pair_strengths(iv)
    cols = list(t.X.columns)
    rows = []
    for a, b in itertools.combinations(sorted(cols), 2):
        best, count, (va, vb) = _best_cell(t, [a, b], lower_is_better)
        rows.append(
            {
                "switch1": a,
                "switch2": b,
                "best_loss": best,
                "best_count": count,
                "switch1_val": va,
                "switch2_val": vb,
                "interaction_strength": float(strength[cols.index(a), cols.index(b)]),
            }
        )
    out = pd.DataFrame(rows)
    return out.sort_values("best_loss", ascending=lower_is_better, kind="stable").reset_index(
        drop=True
    )


def _sample_rows(X: pd.DataFrame, n_rows: int, seed: int) -> np.ndarray:
    x = X.to_numpy(dtype=np.float32)
    if len(x) <= n_rows:
        return x
    return x[np.random.default_rng(seed).choice(len(x), n_rows, replace=False)]


def triple_strengths(model, X: pd.DataFrame, n_rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Model-based three-way interaction of every triple, all in one predict call.

    strength = mean over sampled runs x of |Σ_bits (−1)^(3−|bits|) f(x with the triple = bits)| / 8.
    The 120 × 8 × rows inputs are built as one array (vectorised; timed against the per-row
    loop in bench/analysis_speed.py).
    """
    x = _sample_rows(X, n_rows, seed)
    triples = list(itertools.combinations(range(X.shape[1]), 3))
    P, R = len(triples), len(x)
    grid = np.broadcast_to(x, (P, 8, R, x.shape[1])).copy()  # [P, 8, R, 10]
    for p, tri in enumerate(triples):
        grid[p][:, :, list(tri)] = BITS3[:, None, :]
    f = model.predict(grid.reshape(-1, x.shape[1])).reshape(P, 8, R)
    strength = np.abs(np.einsum("c,pcr->pr", SIGN3, f)).mean(axis=1) / 8
    return _triple_frame(X, triples, strength)


def triple_strengths_loop(model, X: pd.DataFrame, n_rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """The same quantity with one predict call per (triple, run): the bench's reference."""
    x = _sample_rows(X, n_rows, seed)
    triples = list(itertools.combinations(range(X.shape[1]), 3))
    strength = np.empty(len(triples))
    for p, tri in enumerate(triples):
        acc = 0.0
        for row in x:
            cube = np.repeat(row[None], 8, axis=0)
            cube[:, list(tri)] = BITS3
            acc += abs(float(SIGN3 @ model.predict(cube)))
        strength[p] = acc / len(x) / 8
    return _triple_frame(X, triples, strength)


def _triple_frame(X: pd.DataFrame, triples: list, strength: np.ndarray) -> pd.DataFrame:
    cols = list(X.columns)
    names = [sorted(cols[i] for i in tri) for tri in triples]
    out = pd.DataFrame(names, columns=["switch1", "switch2", "switch3"])
    out["model_interaction_strength"] = strength
    return out.sort_values(
        "model_interaction_strength", ascending=False, kind="stable"
    ).reset_index(drop=True)


def alias_structure(X: pd.DataFrame, max_order: int = 3) -> pd.DataFrame:
    """term, order, aliases: for every main effect and interaction up to ``max_order``, the
    lower-or-equal-order terms whose ±1 contrast column is identical (up to sign) on these runs,
    so that the design cannot tell them apart. Computed from the runs, never typed: in the
    2^(10−3) resolution-V fraction each word of length 5 aliases ten three-way contrasts with
    two-way ones."""
    pm = 2 * X.astype(int).to_numpy() - 1
    names = list(X.columns)
    terms = [
        c for k in range(1, max_order + 1) for c in itertools.combinations(range(len(names)), k)
    ]
    cols = {c: pm[:, list(c)].prod(axis=1) for c in terms}
    key = {c: tuple(v * v[0]) for c, v in cols.items()}  # sign-free fingerprint
    groups: dict[tuple, list] = {}
    for c in terms:
        groups.setdefault(key[c], []).append(c)
    rows = []
    for c in terms:
        others = [":".join(names[i] for i in o) for o in groups[key[c]] if o != c]
        rows.append({"term": ":".join(names[i] for i in c), "order": len(c), "aliases": others})
    return pd.DataFrame(rows)


def defining_relation(X: pd.DataFrame) -> list[tuple[str, ...]]:
    """The words of the design's defining relation: the sets of switches whose ±1 product is
    constant over all runs (shortest first). Empty for a full factorial or a random design; the
    shortest word's length is the resolution, and each word of length 5 aliases each of its 10
    pairs with the complementary triple."""
    pm = 2 * X.astype(int).to_numpy() - 1
    names = list(X.columns)
    return [
        tuple(names[i] for i in c)
        for k in range(1, len(names) + 1)
        for c in itertools.combinations(range(len(names)), k)
        if abs(pm[:, list(c)].prod(axis=1).sum()) == len(pm)
    ]


def triple_aliases(X: pd.DataFrame) -> dict[tuple[str, ...], str]:
    """Sorted switch triple → every other main effect, pair or triple its contrast is aliased
    with, lower orders first, joined by ", " ("" when it is estimable apart from all of them)."""
    a = alias_structure(X, 3)
    out = {}
    for r in a[a["order"] == 3].itertuples():
        terms = sorted(r.aliases, key=lambda t: t.count(":"))
        out[tuple(sorted(r.term.split(":")))] = ", ".join(terms)
    return out


def alias_counts(X: pd.DataFrame) -> dict[str, int]:
    """How many three-way contrasts are aliased with a pair (or main effect), with another triple,
    with anything; and how many pairs are aliased with a triple (``triples`` is the total)."""
    a = alias_structure(X, 3)
    three, two = a[a["order"] == 3], a[a["order"] == 2]

    def has(al, order):
        return any(t.count(":") + 1 == order for t in al)

    low = three["aliases"].map(lambda al: any(t.count(":") < 2 for t in al))
    same = three["aliases"].map(lambda al: has(al, 3))
    return {
        "triples": len(three),
        "with_pair": int(low.sum()),
        "with_triple": int(same.sum()),
        "with_any": int((low | same).sum()),
        "pairs_with_triple": int(two["aliases"].map(lambda al: has(al, 3)).sum()),
    }


def query_coverage(X: pd.DataFrame, n_rows: int = 200, seed: int = 0) -> float:
    """Fraction of the configurations that ``triple_strengths`` asks the surrogate about that
    were actually trained; the rest are the surrogate's extrapolation."""
    x = _sample_rows(X, n_rows, seed).astype(int)
    trained = {tuple(r) for r in X.to_numpy(dtype=int)}
    hit = total = 0
    for tri in itertools.combinations(range(X.shape[1]), 3):
        cube = np.repeat(x[:, None, :], 8, axis=1)
        cube[:, :, list(tri)] = BITS3[None]
        keys = [tuple(r) for r in cube.reshape(-1, X.shape[1])]
        hit += sum(k in trained for k in keys)
        total += len(keys)
    return hit / total


def triple_scan(
    t: SwitchTable, strengths: pd.DataFrame, iv: np.ndarray, lower_is_better: bool = True
) -> pd.DataFrame:
    """Per triple: model strength, best 2×2×2 cell (mean, count, values), the mean pairwise
    SHAP interaction strength of its three pairs, and ``aliased_with``: the main effects, pairs
    and triples the design cannot separate its three-way contrast from ("" if none); sorted by
    model strength."""
    pair = pair_strengths(iv)
    cols = list(t.X.columns)
    aliased = triple_aliases(t.X)
    rows = []
    for r in strengths.itertuples(index=False):
        tri = [r.switch1, r.switch2, r.switch3]
        best, count, vals = _best_cell(t, tri, lower_is_better)
        ij = [(cols.index(a), cols.index(b)) for a, b in itertools.combinations(tri, 2)]
        rows.append(
            {
                "switch1": r.switch1,
                "switch2": r.switch2,
                "switch3": r.switch3,
                "model_interaction_strength": r.model_interaction_strength,
                "best_loss": best,
                "best_count": count,
                "switch1_val": vals[0],
                "switch2_val": vals[1],
                "switch3_val": vals[2],
                "interaction_strength": float(np.mean([pair[i, j] for i, j in ij])),
                "aliased_with": aliased[tuple(sorted(tri))],
            }
        )
    return pd.DataFrame(rows)


def mirror_check(t: SwitchTable, triple: list[str]) -> pd.DataFrame:
    """Note 1's "mirror" (101 best, 010 worst, …): observed cell means of a triple beside the
    cells an additive model (main effects only, OLS) predicts for them.

    An additive model gives f(bits) + f(complement) = const, so its best and worst cells are
    always complements and the whole ranking of the eight cells is mirror-symmetric.
    """
    cells = cell_means(t, triple)
    fit = fit_ols(t, order=1)
    beta = fit.params
    base = float(beta["Intercept"])
    others = [s for s in t.X.columns if s not in triple]
    # average over the other switches' observed levels, as the cell means do
    rest = sum(float(beta[s]) * (2 * t.X[s].mean() - 1) for s in others)
    add = []
    for _, c in cells.iterrows():
        add.append(base + rest + sum(float(beta[s]) * (2 * c[s] - 1) for s in triple))
    cells["additive"] = add
    cells["cell"] = ["".join(str(int(c[s])) for s in triple) for _, c in cells.iterrows()]
    return cells[["cell", *triple, "mean", "count", "additive"]]


def is_mirrored(values: pd.Series, cells: pd.Series) -> bool:
    """True when the best and worst of eight cells are bitwise complements."""
    order = values.to_numpy().argsort()
    best, worst = cells.iloc[order[0]], cells.iloc[order[-1]]
    return all(a != b for a, b in zip(best, worst, strict=True))
