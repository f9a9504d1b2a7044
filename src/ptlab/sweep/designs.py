"""Designs over the ten binary switches: full factorial, random subset, regular fraction,
anchors. A design is a list of row dicts (switch name -> bool, plus any other model field a
study pins, e.g. ``residual``) in a deterministic order. A study brings its own designs
(``ptlab.residual.design``)."""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from ptlab.models import SWITCHES
from ptlab.models.config import ConfigError

DESIGNS = ("full", "random", "fractional", "anchors")
K = len(SWITCHES)


def _as_dicts(bits: np.ndarray) -> list[dict[str, bool]]:
    return [dict(zip(SWITCHES, map(bool, row), strict=True)) for row in bits]


def full_design() -> list[dict[str, bool]]:
    """All 2^10 = 1024 configurations (all-off first)."""
    return _as_dicts(np.array(list(itertools.product([0, 1], repeat=K))))


def random_design(n: int, seed: int = 0) -> list[dict[str, bool]]:
    """``n`` distinct configurations drawn uniformly without replacement (as in the lab's Note 1
    study)."""
    if not 1 <= n <= 2**K:
        raise ConfigError(f"--n must be between 1 and {2**K} for the random design, got {n}")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(2**K, size=n, replace=False))
    bits = (idx[:, None] >> np.arange(K - 1, -1, -1)[None, :]) & 1
    return _as_dicts(bits)


def word_lengths(generators: tuple[int, ...], k_base: int) -> list[int]:
    """Lengths of the words of the defining relation of a 2^(k-p) design.

    Generator g (a bit mask over the k_base base factors) defines the added factor
    F = prod(base factors in g), i.e. the word g | F. Every product of generator words is a word.
    """
    words = []
    for r in range(1, len(generators) + 1):
        for combo in itertools.combinations(range(len(generators)), r):
            base_part = 0
            for j in combo:
                base_part ^= generators[j]
            words.append(bin(base_part).count("1") + r)
    return words


@lru_cache(maxsize=8)
def best_generators(p: int) -> tuple[int, ...]:
    """Generators of a 2^(10-p) design with maximum resolution and minimum aberration.

    Deterministic exhaustive search over generator words of length >= 3 (cheap for p <= 4);
    the resolution is the shortest word of the defining relation.
    """
    if not 1 <= p <= 4:
        raise ConfigError(f"fractional designs support p in 1..4 (1024/2^p runs), got p={p}")
    kb = K - p
    cands = [m for m in range(1, 2**kb) if bin(m).count("1") >= 3]
    best, best_key = None, None
    for gens in itertools.combinations(cands, p):
        lengths = word_lengths(gens, kb)
        res = min(lengths)
        key = (res, -lengths.count(res))
        if best_key is None or key > best_key:
            best, best_key = gens, key
    return best


def resolution(p: int) -> int:
    return min(word_lengths(best_generators(p), K - p))


def fractional_design(p: int = 3) -> list[dict[str, bool]]:
    """A regular 2^(10-p) fraction: 128 runs at p = 3 (resolution V: main effects and two-way
    interactions are not aliased with each other). The first 10-p switches form a full
    factorial; each remaining switch is the XOR-parity (product in +-1 coding) of a generator."""
    kb = K - p
    gens = best_generators(p)
    base = np.array(list(itertools.product([0, 1], repeat=kb)))
    signs = 1 - 2 * base  # +-1 coding, 0 -> +1
    extra = []
    for g in gens:
        cols = [kb - 1 - i for i in range(kb) if g >> i & 1]
        prod = np.prod(signs[:, cols], axis=1)
        extra.append((1 - prod) // 2)  # back to 0/1
    bits = np.column_stack([base, *extra]).astype(int)
    return _as_dicts(bits)


def anchors_design() -> list[dict[str, bool]]:
    """Four reference configs for replicate-seed noise: all off (PT), all on (Llama), and two
    mixed ones (the first five switches on; the last five on)."""
    half = K // 2
    return _as_dicts(
        np.array([[0] * K, [1] * K, [1] * half + [0] * (K - half), [0] * half + [1] * (K - half)])
    )


def make_design(name: str, n: int | None = None, seed: int = 0, p: int = 3) -> list[dict]:
    """Dispatch by name; raises ConfigError listing the allowed designs."""
    if name == "full":
        return full_design()
    if name == "random":
        if n is None:
            raise ConfigError("the random design needs --n (number of distinct configs)")
        return random_design(n, seed)
    if name == "fractional":
        return fractional_design(p)
    if name == "anchors":
        return anchors_design()
    raise ConfigError(f"unknown design {name!r}; allowed: {', '.join(DESIGNS)}")


def pin(design: list[dict[str, bool]], fixed: dict[str, bool]) -> list[dict[str, bool]]:
    """Set ``fixed`` switches in every row and drop the duplicates that this creates."""
    seen, out = set(), []
    for row in design:
        row = {**row, **fixed}
        key = tuple(sorted(row.items()))
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def design_summary(design: list[dict[str, bool]]) -> dict:
    """What a design is, computed from its rows (for the prose, never typed by hand):
    ``n_runs``; ``resolution``, the length of the shortest word of the defining relation (a
    product of ±1 switch columns constant over all runs; None when there is none, as in a full
    or a random design); ``regular``, whether the runs are a regular fraction 2^(10-p) (then
    ``p``); and ``orthogonal_2fi``, whether all main effects and two-way interactions are
    mutually orthogonal."""
    X = 1 - 2 * np.array([[row[s] for s in SWITCHES] for row in design], dtype=int)
    n = len(X)
    res = next(
        (
            k
            for k in range(1, K + 1)
            for word in itertools.combinations(range(K), k)
            if abs(X[:, word].prod(axis=1).sum()) == n
        ),
        None,
    )
    p = K - int(np.log2(n)) if n and n & (n - 1) == 0 else None
    regular = p is not None and len({tuple(r) for r in X}) == n and (p == 0 or res is not None)
    cols = [X[:, i] for i in range(K)] + [
        X[:, i] * X[:, j] for i, j in itertools.combinations(range(K), 2)
    ]
    M = np.column_stack(cols).astype(float)
    gram = M.T @ M
    orthogonal = bool(np.allclose(gram - np.diag(np.diag(gram)), 0))
    return {
        "n_runs": n,
        "resolution": res,
        "regular": regular,
        "p": p if regular else None,
        "orthogonal_2fi": orthogonal,
    }
