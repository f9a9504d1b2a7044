"""The attribution study of the lab's Note 5 (book/en/notes.md) for trained families (one per
training seed): one function per table, each returning a DataFrame with snake_case column ids
and a ``seed`` column; ``analyze_model`` drives them for one model, ``run`` for every seed and
member, and ``across_seeds`` / ``seed_ci`` summarise a table over seeds. Display labels (both
languages) are applied only where a table is shown (``show``). Shown in: chapter
*attribution*.

Decisions:

* Within a seed, intervals resample *windows* (the attribution set's windows jointly for every
  score, so paired scores stay paired; replicate r draws the same windows for every seed, as
  the windows are shared). A statistic's interval over seeds (``seed_ci``) counts both the
  seeds and the windows: a t interval on the seed means, widened by the window-bootstrap
  variance of the seed mean; the verdicts say how many seeds they rest on.
* The greedy order is fitted on the attribution windows and evaluated on the held-out ones
  like every other order (out of sample).
* Exact Shapley values (2^N subsets, enumerated layer by layer) are computed for the first
  seed, on the first ``exact_bytes`` bytes of the first ``exact_windows`` attribution windows,
  one stratified noise draw each (a masked-diffusion window would otherwise cost
  ``noise_draws`` rows); sampled Shapley and IG are recomputed on the same rows, so the
  comparison is of one game. Its cost is 2^N × the rows' bytes; the profile sets the trade.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ptlab.attribution import pruning as pr
from ptlab.attribution import scores as sc
from ptlab.attribution.family import MEMBERS, eval_set
from ptlab.attribution.losses import NOISE_SEED, EvalSet, loss_at, losses_at_many
from ptlab.attribution.patterns import head_patterns, top_heads
from ptlab.display import labelled
from ptlab.models.config import ConfigError
from ptlab.profiles import study_section
from ptlab.progress import progress_bar
from ptlab.verdict import detectable_effect

BASELINES = (0.0, 0.3, 0.9)  # 0: the note's; 0.3: the variant it proposes; 0.9: near b → 1
SECOND_NOISE_SEED = NOISE_SEED + 1  # the rank-stability check's other masking draw
PAIRS = {  # correlation id → (score, score); LOO negated so that "useful" has one sign
    "ig_code_vs_prose": ("ig", "ig_prose"),
    "ig_vs_neg_loo": ("ig", "neg_loo"),
    "ig_vs_signed_michel": ("ig", "michel_signed"),
    "abs_ig_vs_michel": ("abs_ig", "michel_abs"),
    "ig_vs_shapley": ("ig", "shapley"),
    "signed_michel_vs_neg_loo": ("michel_signed", "neg_loo"),
}


@dataclass(frozen=True)
class StudySettings:
    """The analysis settings of one chapter run; the defaults and their reasons are the profile's
    (``ptlab.profiles.ATTRIBUTION_STUDY``, section ``attribution.study``)."""

    n_seeds: int  # training seeds per family
    n_windows: int  # attribution windows per set (code, prose)
    n_verify: int  # held-out verification windows
    n_steps: int  # Gauss–Legendre nodes of IG (completeness gap reported per row)
    n_random: int  # random pruning orders per model (the band pools the seeds)
    n_subsets: int  # random subsets for the verification
    n_shapley: int  # Shapley permutations (all prefixes of one order: one batch)
    n_boot: int  # bootstrap resamples of windows
    prune_fraction: float
    noise_draws: int  # stratified masks per masked-diffusion window
    exact_windows: int  # windows for exact Shapley (first seed); 0 skips it
    exact_bytes: int  # bytes of each of those windows (its first ones); the model's length max
    exact_members: tuple[str, ...]  # members that get exact Shapley

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "int" and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ConfigError(f"{f.name} must be an integer >= 0, got {v!r}")
        for name in (
            "n_seeds",
            "n_windows",
            "n_verify",
            "n_steps",
            "n_boot",
            "noise_draws",
            "exact_bytes",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not 0 < self.prune_fraction < 1:
            raise ConfigError(f"prune_fraction must be in (0, 1), got {self.prune_fraction!r}")
        bad = [m for m in self.exact_members if m not in MEMBERS]
        if bad:
            raise ConfigError(
                f"exact_members: unknown member {bad[0]!r}; allowed: {', '.join(MEMBERS)}"
            )

    @classmethod
    def from_profile(cls, profile: str = "quick", **overrides) -> StudySettings:
        """The profile's settings with ``overrides`` applied; a value of None keeps the profile's
        (how a chapter parameter says "the profile's"). ``exact_members`` may be a
        comma-separated string."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            allowed = ", ".join(sorted(known))
            raise ConfigError(f"unknown attribution setting {unknown[0]!r}; allowed: {allowed}")
        values = {**study_section(profile, "attribution")["study"]}
        values.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(values["exact_members"], str):
            values["exact_members"] = tuple(m for m in values["exact_members"].split(",") if m)
        return cls(**values)


@dataclass
class Tables:
    """The chapter's tables, rows of every model and seed concatenated (``seed`` column)."""

    stats: pd.DataFrame  # sign statistics of IG on each window set
    scores: dict  # (member, seed) → per-head IG, Michel, LOO, Shapley
    correlations: pd.DataFrame  # Spearman correlations between the scores, with CIs
    boot: pd.DataFrame  # bootstrap replicates (model, seed, quantity, replicate, value)
    noise: pd.DataFrame  # IG rank stability under a second masking-noise seed
    baselines: pd.DataFrame  # IG at baselines b < 1 against the b → 1 gradient
    sign: pd.DataFrame  # do IG > 0 heads lower the loss when removed?
    curves: pd.DataFrame  # pruning curves (long format)
    verification: pd.DataFrame  # pruning 30 % against random subsets
    exact: pd.DataFrame  # exact vs sampled Shapley vs IG (first seed)
    patterns: pd.DataFrame  # attention summaries of the top harmful / useful heads (first seed)
    timing: pd.DataFrame  # seconds per stage
    maps: dict = field(default_factory=dict)  # (member, role) → (head, mean map [T, T])


# --- bootstrap and rank correlation ---------------------------------------------------------


def boot_indices(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """[n_boot, n] window indices drawn with replacement."""
    return np.random.default_rng(seed).integers(0, n, (n_boot, n))


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman ρ of each row pair of a, b [R, N] (average ranks for ties)."""
    ra, rb = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
    ra, rb = ra - ra.mean(1, keepdims=True), rb - rb.mean(1, keepdims=True)
    den = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    return np.where(den > 0, (ra * rb).sum(1) / np.maximum(den, 1e-300), np.nan)


def sign_fractions(per_window: np.ndarray, n_boot: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Fractions of heads with IG < 0 and IG > 0, and the mean IG over heads, for the
    window-mean IG of each bootstrap resample of the windows (per_window [W, N]); the point
    values are the full-set values. (The mean over heads is (L(1) − L(0)) / N by completeness:
    its interval is that of the loss gap.)"""
    means = per_window[boot_indices(len(per_window), n_boot, seed)].mean(1)  # [n_boot, N]
    return {
        "frac_negative": (means < 0).mean(1),
        "frac_positive": (means > 0).mean(1),
        "mean": means.mean(1),
    }


def ci(x: np.ndarray) -> tuple[float, float]:
    return float(np.nanpercentile(x, 2.5)), float(np.nanpercentile(x, 97.5))


def _rho(a, b) -> float:
    return float(stats.spearmanr(a, b)[0])


@contextmanager
def _timed(timing: dict, stage: str):
    t0 = time.perf_counter()
    yield
    timing[stage] = timing.get(stage, 0.0) + time.perf_counter() - t0


# --- one table per function -----------------------------------------------------------------


def ig_statistics(model, member: str, sets: dict[str, EvalSet], s: StudySettings):
    """(table, {set: per-window IG [W, N]}): sign statistics of IG (b = 0) on each window set,
    with window-bootstrap intervals of the sign fractions, and the replicates."""
    rows, per, boot = [], {}, []
    N = model.cfg.n_gates
    for name, es in sets.items():
        pw, delta = sc.integrated_gradients(
            model, es, 0.0, s.n_steps, per_example=True, return_convergence_delta=True
        )
        per[name] = pw
        ig = pw.mean(0)
        loss_on, loss_off = loss_at(model, es), loss_at(model, es, torch.zeros(N))
        fr = sign_fractions(pw, s.n_boot)
        row = {
            "model": member,
            "set": name,
            "heads": N,
            "windows": es.n_windows,
            "mean": ig.mean(),
            "median": float(np.median(ig)),
            "frac_negative": (ig < 0).mean(),
            "frac_positive": (ig > 0).mean(),
            "min": ig.min(),
            "max": ig.max(),
            "loss_on": loss_on,
            "loss_off": loss_off,
            "sum_ig": ig.sum(),
            "delta": float(delta.mean()),
            "rel_delta": abs(float(delta.mean())) / max(abs(loss_on - loss_off), 1e-12),
        }
        for q, reps in fr.items():
            row[f"{q}_ci_low"], row[f"{q}_ci_high"] = ci(reps)
            boot.append(_boot_rows(member, f"{q}:{name}", reps, row[q]))
        rows.append(row)
    return pd.DataFrame(rows), per, boot


def _boot_rows(member: str, quantity: str, reps: np.ndarray, point: float) -> pd.DataFrame:
    """Window-bootstrap replicates of one seed's statistic, beside its value on all windows."""
    return pd.DataFrame(
        {
            "model": member,
            "quantity": quantity,
            "replicate": np.arange(len(reps)),
            "value": reps,
            "point": float(point),
        }
    )


def per_window_scores(model, code: EvalSet, per_ig: dict, n_shapley: int) -> dict:
    """Every score per window [W, N] on the code windows (IG prose on its own windows)."""
    return {
        "ig": per_ig["code"],
        "ig_prose": per_ig["prose"],
        "grad": sc.michel(model, code, signed=True, per_example=True),
        "abs_grad": sc.michel(model, code, per_example=True),
        "loo": sc.leave_one_out(model, code, per_example=True),
        "shapley": sc.shapley_sampled(model, code, n_shapley, per_example=True),
    }


def head_scores(model, per: dict) -> pd.DataFrame:
    """Per-head scores: IG (code, prose), Michel (layer-normalised |g| and signed g), LOO,
    sampled Shapley."""
    N, H, L = model.cfg.n_gates, model.cfg.n_heads, model.cfg.n_layers
    return pd.DataFrame(
        {
            "head": np.arange(N),
            "layer": np.arange(N) // H,
            "ig_code": per["ig"].mean(0),
            "ig_prose": per["ig_prose"].mean(0),
            "michel_abs": sc.layer_normalised(per["abs_grad"].mean(0), L),
            "michel_signed": per["grad"].mean(0),
            "loo": per["loo"].mean(0),
            "shapley": per["shapley"].mean(0),
        }
    )


def _score_vectors(per: dict, idx, idx_prose, n_layers: int) -> dict[str, np.ndarray]:
    """Each score [R, N] for R resamples (rows of idx) of the windows."""
    mean = {k: v[idx].mean(-2) for k, v in per.items() if k != "ig_prose"}
    absolute = mean["abs_grad"]
    shape = absolute.shape
    per_layer = absolute.reshape(*shape[:-1], n_layers, -1)
    norms = np.maximum(np.linalg.norm(per_layer, axis=-1, keepdims=True), 1e-12)
    return {
        "ig": mean["ig"],
        "abs_ig": np.abs(mean["ig"]),
        "ig_prose": per["ig_prose"][idx_prose].mean(-2),
        "neg_loo": -mean["loo"],
        "michel_signed": mean["grad"],
        "michel_abs": (per_layer / norms).reshape(shape),
        "shapley": mean["shapley"],
    }


def correlations(member: str, per: dict, n_layers: int, n_boot: int):
    """Spearman ρ between the scores with 95 % window-bootstrap intervals (LOO negated: IG < 0
    and LOO > 0 both say "useful"), and the replicates."""
    W, Wp = len(per["ig"]), len(per["ig_prose"])
    point = _score_vectors(per, np.arange(W)[None], np.arange(Wp)[None], n_layers)
    reps = _score_vectors(per, boot_indices(W, n_boot, 1), boot_indices(Wp, n_boot, 2), n_layers)
    row, boot = {"model": member}, []
    for name, (a, b) in PAIRS.items():
        r = spearman_rows(reps[a], reps[b])
        row[name] = float(spearman_rows(point[a], point[b])[0])
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci(r)
        boot.append(_boot_rows(member, name, r, row[name]))
    return pd.DataFrame([row]), boot


def noise_stability(model, member: str, code_windows: torch.Tensor, ig: np.ndarray, s):
    """Spearman ρ between IG rankings under the main and a second masking-noise seed (masked
    diffusion only; the causal loss has no noise)."""
    if model.cfg.objective == "causal":
        return pd.DataFrame()
    from ptlab.attribution.losses import fixed_noise

    other = fixed_noise(code_windows, model.cfg.objective, SECOND_NOISE_SEED, s.noise_draws)
    ig2 = sc.integrated_gradients(model, other, 0.0, s.n_steps)
    return pd.DataFrame(
        [
            {
                "model": member,
                "rho_noise_seeds": _rho(ig, ig2),
                "same_sign_fraction": float((np.sign(ig) == np.sign(ig2)).mean()),
                "same_top_harmful": bool(np.argmax(ig) == np.argmax(ig2)),
                "same_top_useful": bool(np.argmin(ig) == np.argmin(ig2)),
            }
        ]
    )


def baseline_table(model, member: str, code: EvalSet, scores: pd.DataFrame, n_steps: int):
    """IG at each baseline b: completeness, signs, and IG(b)/(1−b) against the gradient."""
    N = model.cfg.n_gates
    ig0, loo = scores["ig_code"].to_numpy(), scores["loo"].to_numpy()
    gradient = scores["michel_signed"].to_numpy()
    loss_on = loss_at(model, code)
    rows = []
    for b in BASELINES:
        if b == 0.0:
            igb, d = ig0, float("nan")  # the main IG (its gap is in the statistics table)
        else:
            igb, d = sc.integrated_gradients(model, code, b, n_steps, return_convergence_delta=True)
        loss_b = loss_at(model, code, torch.full((N,), b))
        rows.append(
            {
                "model": member,
                "baseline": b,
                "loss_at_baseline": loss_b,
                "sum_ig": igb.sum(),
                "loss_gap": loss_on - loss_b,
                "delta": d,
                "frac_negative": (igb < 0).mean(),
                "rho_vs_ig0": _rho(igb, ig0),
                "rho_vs_neg_loo": _rho(igb, -loo),
                "max_abs_diff_vs_gradient": float(np.abs(igb / (1 - b) - gradient).max()),
            }
        )
    return pd.DataFrame(rows)


def sign_table(model, member: str, held: EvalSet, scores: pd.DataFrame) -> pd.DataFrame:
    """The sign question on held-out windows: how many IG > 0 heads lower the loss when
    removed alone, and what removing all of them at once does."""
    ig, loo = scores["ig_code"].to_numpy(), scores["loo"].to_numpy()
    pos = np.flatnonzero(ig > 0)
    loss_on = loss_at(model, held)
    gates = pr.masks_from_sets([pos], model.cfg.n_gates)[0]
    loss_without = loss_at(model, held, gates) if len(pos) else loss_on
    row = {
        "model": member,
        "heads_ig_positive": len(pos),
        "of_which_loo_negative": int((loo[pos] < 0).sum()),
        "delta_loss_without_positive": loss_without - loss_on,
        "heldout_loss": loss_on,
    }
    return pd.DataFrame([row])


def pruning_orders(model, code: EvalSet, scores: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every order, fitted on the attribution (code) windows: the note's, the references',
    Michel's iterative pruning and the greedy oracle."""
    ig = scores["ig_code"].to_numpy()
    orders = pr.strategy_orders(ig, scores["michel_abs"].to_numpy(), scores["loo"].to_numpy())
    orders["michel_iterative"] = pr.michel_iterative(model, code)
    orders["greedy"] = pr.greedy(model, code)[0]
    return orders


def pruning_curves(model, held: EvalSet, scores: pd.DataFrame, orders: dict) -> dict:
    """Held-out loss after pruning k = 0..N heads, per strategy (and the layer bands)."""
    curves = {name: pr.curve(model, held, pr.prefix_sets(o)) for name, o in orders.items()}
    ig = scores["ig_code"].to_numpy()
    bands = pr.band_sets(ig, model.cfg.n_layers, model.cfg.n_heads)
    curves["layer_bands"] = pr.curve(model, held, bands)
    return curves


def curves_table(member: str, curves: dict, random: np.ndarray, loss_on: float) -> pd.DataFrame:
    """Long format: one row per (strategy, k); the random orders as ``random`` rows with an
    ``order`` index (the chapter pools them over seeds for the band)."""
    N = len(random[0]) - 1
    rows = []
    named = [(name, -1, c) for name, c in curves.items()]
    named += [("random", i, c) for i, c in enumerate(random)]
    for name, order, c in named:
        for k, v in enumerate(c):
            rows.append(
                {
                    "model": member,
                    "strategy": name,
                    "order": order,
                    "k": k,
                    "fraction": k / N,
                    "loss": v,
                    "rel": (v - loss_on) / loss_on,
                }
            )
    return pd.DataFrame(rows)


def verification_table(member: str, curves: dict, subsets: np.ndarray, loss_on: float, k: int):
    """Pruning k heads: each strategy's loss change, placed among random k-subsets."""
    N = len(curves["greedy"]) - 1
    greedy_k = curves["greedy"][k]
    rows = []
    for name, c in curves.items():
        v = c[k]
        rows.append(
            {
                "model": member,
                "strategy": name,
                "k": k,
                "delta_loss": v - loss_on,
                "rel_delta_loss": (v - loss_on) / loss_on,
                "percentile_among_random": float((subsets < v).mean() * 100),
                "gap_to_greedy": v - greedy_k,
                "max_fraction_within_1pct": pr.largest_fraction_within(c),
                "auc_0_50": float(np.mean([(x - c[0]) / c[0] for x in c[: N // 2 + 1]])),
            }
        )
    mean = float(subsets.mean())
    rows.append(
        {
            "model": member,
            "strategy": "random_mean",
            "k": k,
            "delta_loss": mean - loss_on,
            "rel_delta_loss": (mean - loss_on) / loss_on,
            "percentile_among_random": 50.0,
            "gap_to_greedy": mean - greedy_k,
            "max_fraction_within_1pct": np.nan,
            "auc_0_50": np.nan,
        }
    )
    return pd.DataFrame(rows)


def exact_table(model, member: str, s: StudySettings) -> pd.DataFrame:
    """Exact Shapley on the first ``exact_bytes`` bytes of the first ``exact_windows`` code
    windows (one stratified noise draw per masked-diffusion window) against sampled Shapley
    (several permutation counts) and IG on the same rows; with the enumeration's time and the
    time of one plain forward of the same rows (its cost unit)."""
    from ptlab.attribution.family import windows
    from ptlab.attribution.losses import fixed_noise

    length = min(s.exact_bytes, model.cfg.seq_len)
    sub = fixed_noise(
        windows("code", s.exact_windows, model.cfg.seq_len)[:, :length],
        model.cfg.objective,
        draws=1,
    )
    N = model.cfg.n_gates
    t0 = time.perf_counter()
    exact = sc.shapley_exact(model, sub)
    seconds = time.perf_counter() - t0
    forward = np.inf
    for _ in range(5):  # the cost unit: best of 5 plain forwards of the same rows
        t0 = time.perf_counter()
        losses_at_many(model, sub, torch.ones(1, N))
        forward = min(forward, time.perf_counter() - t0)
    ig = sc.integrated_gradients(model, sub, 0.0, s.n_steps)
    norm = float(np.linalg.norm(exact))
    rows = []
    for name, est in [
        *[(f"shapley_{n}", sc.shapley_sampled(model, sub, n)) for n in _perm_counts(s)],
        ("ig", ig),
    ]:
        rows.append(
            {
                "model": member,
                "estimate": name,
                "rho_vs_exact": _rho(est, exact),
                "rel_error": float(np.linalg.norm(est - exact)) / max(norm, 1e-12),
                "max_abs_error": float(np.abs(est - exact).max()),
            }
        )
    out = pd.DataFrame(rows)
    out["windows"], out["subsets"], out["bytes"] = s.exact_windows, 2**N, length
    total = loss_at(model, sub) - loss_at(model, sub, torch.zeros(N))
    out["efficiency_gap"] = float(exact.sum()) - total
    out["seconds"], out["forward_seconds"] = seconds, forward
    return out


def _perm_counts(s: StudySettings) -> tuple[int, ...]:
    return tuple(sorted({s.n_shapley, 3 * s.n_shapley, 10 * s.n_shapley}))


def pattern_table(model, member: str, code: EvalSet, scores: pd.DataFrame):
    """(table, maps): attention summaries and mean maps of the most harmful and useful heads."""
    ig = scores["ig_code"].to_numpy()
    top = top_heads(ig)
    maps, summaries = head_patterns(model, code, list(top.values()))
    H = model.cfg.n_heads
    rows, out = [], {}
    for role, h in top.items():
        rows.append(
            {
                "model": member,
                "role": role,
                "head": h,
                "layer": h // H,
                "head_in_layer": h % H,
                "ig": ig[h],
                **summaries[h],
            }
        )
        out[(member, role)] = (h, maps[h])
    return pd.DataFrame(rows), out


def analyze_model(model, member: str, s: StudySettings, first_seed: bool = True) -> Tables:
    """Every table of the chapter for one model (exact Shapley and attention patterns only for
    the first seed)."""
    timing: dict[str, float] = {}
    with _timed(timing, "windows"):
        sets = {k: eval_set(k, s.n_windows, model, draws=s.noise_draws) for k in ("code", "prose")}
        held = eval_set("heldout", s.n_verify, model, draws=s.noise_draws)
    code = sets["code"]
    with _timed(timing, "ig"):
        stats_table, per_ig, boot = ig_statistics(model, member, sets, s)
    with _timed(timing, "scores"):
        per = per_window_scores(model, code, per_ig, s.n_shapley)
        scores = head_scores(model, per)
    with _timed(timing, "bootstrap"):
        corr, cboot = correlations(member, per, model.cfg.n_layers, s.n_boot)
    with _timed(timing, "ig_second_noise"):
        windows = code.tokens[:: code.draws]
        noise = noise_stability(model, member, windows, scores["ig_code"].to_numpy(), s)
    with _timed(timing, "ig_baselines"):
        baselines = baseline_table(model, member, code, scores, s.n_steps)
    with _timed(timing, "pruning_orders"):
        orders = pruning_orders(model, code, scores)
    with _timed(timing, "pruning_curves"):
        curves = pruning_curves(model, held, scores, orders)
        loss_on = loss_at(model, held)
        sign = sign_table(model, member, held, scores)
    with _timed(timing, "random_pruning"):
        random = pr.random_curves(model, held, s.n_random)
        k = round(s.prune_fraction * model.cfg.n_gates)
        subsets = pr.random_subsets(model, held, k, s.n_subsets)
    exact = pd.DataFrame()
    if first_seed and s.exact_windows > 0 and member in s.exact_members:
        with _timed(timing, "exact_shapley"):
            exact = exact_table(model, member, s)
    patterns, maps = pd.DataFrame(), {}
    if first_seed:
        with _timed(timing, "attention_patterns"):
            patterns, maps = pattern_table(model, member, code, scores)
    return Tables(
        stats=stats_table,
        scores=scores,
        correlations=corr,
        boot=pd.concat(boot + cboot, ignore_index=True),
        noise=noise,
        baselines=baselines,
        sign=sign,
        curves=curves_table(member, curves, random, loss_on),
        verification=verification_table(member, curves, subsets, loss_on, k),
        exact=exact,
        patterns=patterns,
        timing=pd.DataFrame(
            [{"model": member, "stage": k, "seconds": v} for k, v in timing.items()]
        ),
        maps=maps,
    )


def run(families: dict[int, dict], s: StudySettings, progress: bool = True) -> Tables:
    """analyze_model for every seed's members; tables concatenated with a ``seed`` column."""
    jobs = [(seed, o) for seed in families for o in families[seed]]
    first = min(families)
    per = {}
    for seed, o in progress_bar(jobs, desc="attribution", disable=not progress):
        per[(o, seed)] = analyze_model(families[seed][o], o, s, first_seed=seed == first)
    out = {}
    for f in fields(Tables):
        if f.name in ("scores", "maps"):
            continue
        parts = [
            getattr(t, f.name).assign(seed=seed)
            for (_, seed), t in per.items()
            if len(getattr(t, f.name))
        ]
        out[f.name] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    maps = {k: v for t in per.values() for k, v in t.maps.items()}
    return Tables(scores={key: t.scores for key, t in per.items()}, maps=maps, **out)


def band_study(models: dict, s: StudySettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(curves, verification) of the layer-band strategy on a deeper AR model per seed, beside
    |IG|, signed IG and greedy (fitted on the code windows) and random orders."""
    curves, ver = [], []
    for seed, model in models.items():
        code = eval_set("code", s.n_windows, model, draws=s.noise_draws)
        held = eval_set("heldout", s.n_verify, model, draws=s.noise_draws)
        ig = sc.integrated_gradients(model, code, 0.0, s.n_steps)
        orders = {
            "abs_ig": np.argsort(np.abs(ig), kind="stable"),
            "signed_ig": np.argsort(-ig, kind="stable"),
            "greedy": pr.greedy(model, code)[0],
        }
        c = {name: pr.curve(model, held, pr.prefix_sets(o)) for name, o in orders.items()}
        c["layer_bands"] = pr.curve(
            model, held, pr.band_sets(ig, model.cfg.n_layers, model.cfg.n_heads)
        )
        loss_on = loss_at(model, held)
        random = pr.random_curves(model, held, s.n_random)
        k = round(s.prune_fraction * model.cfg.n_gates)
        subsets = pr.random_subsets(model, held, k, s.n_subsets)
        curves.append(curves_table("ar", c, random, loss_on).assign(seed=seed))
        ver.append(verification_table("ar", c, subsets, loss_on, k).assign(seed=seed))
    return pd.concat(curves, ignore_index=True), pd.concat(ver, ignore_index=True)


# --- summaries over seeds -------------------------------------------------------------------


def across_seeds(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean and sd over seeds of every numeric column, per ``keys``: columns ``<c>`` (mean) and
    ``<c>_sd``, plus ``seeds``."""
    value_cols = [
        c
        for c in table.columns
        if c not in (*keys, "seed") and pd.api.types.is_numeric_dtype(table[c])
    ]
    g = table.groupby(keys, sort=False)
    mean, sd = g[value_cols].mean(), g[value_cols].std(ddof=1)
    out = mean.join(sd.add_suffix("_sd"))
    out["seeds"] = g["seed"].nunique()
    return out.reset_index()


def seed_ci(
    boot: pd.DataFrame, quantity: str, level: float = 0.95, bounds=(-np.inf, np.inf)
) -> pd.DataFrame:
    """Per model: the interval of the seed mean of ``quantity`` that counts both sources of
    noise. The seeds are a sample of training runs, so their spread enters as a t interval on
    the seed means (n − 1 dof); the windows are shared by every seed, so their sampling
    variance is that of the seed mean over the window-bootstrap replicates (replicate r
    resamples the same windows for every seed). se² = sd_seeds² / n + var_windows(seed mean);
    the interval is mean ± t_{n−1} · se, clipped to ``bounds``. With one seed it is undefined
    (NaN): a single training run says nothing about another.

    Columns: model, mean, ci_low, ci_high, se, seeds, sd_seeds, se_windows, detectable (the
    smallest difference from a reference value the seeds detect with 80 % power)."""
    b = boot[boot["quantity"] == quantity]
    rows = []
    for o, g in b.groupby("model", sort=False):
        points = g.groupby("seed", sort=False)["point"].first().to_numpy(float)
        n = len(points)
        mean = float(points.mean())
        reps = g.groupby("replicate")["value"].mean().to_numpy(float)
        se_w = float(np.nanstd(reps, ddof=1)) if len(reps) > 1 else 0.0
        sd_s = float(points.std(ddof=1)) if n > 1 else float("nan")
        se = float(np.sqrt(sd_s**2 / n + se_w**2)) if n > 1 else float("nan")
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se if n > 1 else float("nan")
        rows.append(
            {
                "model": o,
                "mean": mean,
                "ci_low": max(bounds[0], mean - half) if n > 1 else float("nan"),
                "ci_high": min(bounds[1], mean + half) if n > 1 else float("nan"),
                "se": se,
                "seeds": n,
                "sd_seeds": sd_s,
                "se_windows": se_w,
                "detectable": detectable_effect(se, n - 1) if n > 1 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def mean_sd(table: pd.DataFrame, keys: list[str], columns: list[str], digits: int = 2):
    """A display table of "mean ± sd" strings over seeds (``display.mean_sd``: both to the
    decimal of the sd's ``digits``-th significant digit; the mean alone for a single seed)."""
    from ptlab.display import mean_sd as fmt

    s = across_seeds(table[[*keys, "seed", *columns]], keys).set_index(keys)
    out = pd.DataFrame(index=s.index)
    for c in columns:
        out[c] = [fmt(m, d, digits) for m, d in zip(s[c], s[f"{c}_sd"], strict=True)]
    return out.reset_index()


# Display labels, one per column id, in both languages (the pages share one table).
LABELS = {
    "model": "模型 · model",
    "set": "窗口集 · set",
    "heads": "头数 · heads",
    "mean": "均值 · mean",
    "windows": "窗口数 · windows",
    "seeds": "种子数 · seeds",
    "frac_negative_ci_low": "负值比例 95% CI 下限 · frac. < 0 CI low",
    "frac_negative_ci_high": "负值比例 95% CI 上限 · frac. < 0 CI high",
    "frac_positive_ci_low": "正值比例 95% CI 下限 · frac. > 0 CI low",
    "frac_positive_ci_high": "正值比例 95% CI 上限 · frac. > 0 CI high",
    "ci_low": "95% CI 下限 · CI low",
    "ci_high": "95% CI 上限 · CI high",
    "pair": "比较 · comparison",
    "rho": "Spearman ρ",
    "rho_sd": "种子标准差 · seed sd",
    "rho_noise_seeds": "两个噪声种子间 IG 的 ρ · ρ of IG across noise seeds",
    "same_sign_fraction": "符号一致比例 · same sign",
    "same_top_harmful": "最“有害”头相同 · same top harmful",
    "same_top_useful": "最“有用”头相同 · same top useful",
    "estimate": "估计 · estimate",
    "rho_vs_exact": "ρ vs 精确 Shapley · ρ vs exact",
    "rel_error": "相对误差 · relative error",
    "max_abs_error": "最大绝对误差 · max abs error",
    "subsets": "子集数 · subsets",
    "efficiency_gap": "Σφ − (L(1) − L(0))",
    "bytes": "字节 · bytes",
    "fraction": "比例 · fraction",
    "sd": "种子标准差 · seed sd",
    "ci": "95% CI（种子 · seeds）",
    "rho_ci": "95% CI（种子 · seeds）",
    "kind": "类型 · kind",
    "seconds": "秒 · seconds",
    "forward_seconds": "一次前向（秒） · one forward (s)",
    "role": "角色 · role",
    "head": "头 · head",
    "layer": "层 · layer",
    "head_in_layer": "层内序号 · head in layer",
    "ig": "IG",
    "to_previous": "前一位置 · to previous",
    "to_adjacent": "相邻两个位置 · to neighbours",
    "to_next": "后一位置 · to next",
    "to_self": "自身 · to self",
    "to_first": "位置 0 · to position 0",
    "mean_distance": "平均距离 · mean distance",
    "stage": "阶段 · stage",
    "median": "中位数 · median",
    "frac_negative": "负值比例 · frac. < 0",
    "frac_positive": "正值比例 · frac. > 0",
    "min": "最小 · min",
    "max": "最大 · max",
    "loss_on": "L(1)",
    "loss_off": "L(0)",
    "sum_ig": "ΣIG",
    "delta": "完备性误差 δ · completeness gap δ",
    "rel_delta": "|δ| / |L(1) − L(0)|",
    "ig_code_vs_prose": "IG 代码 vs 文档 · IG code vs prose",
    "ig_vs_neg_loo": "IG vs −LOO",
    "ig_vs_signed_michel": "IG vs 带符号 Michel · signed Michel",
    "abs_ig_vs_michel": "|IG| vs Michel I",
    "ig_vs_shapley": "IG vs Shapley",
    "signed_michel_vs_neg_loo": "带符号 Michel vs −LOO · signed Michel vs −LOO",
    "baseline": "基线 b · baseline b",
    "loss_at_baseline": "L(b)",
    "loss_gap": "L(1) − L(b)",
    "rho_vs_ig0": "ρ vs IG(0)",
    "rho_vs_neg_loo": "ρ vs −LOO",
    "max_abs_diff_vs_gradient": "max |IG(b)/(1−b) − g|",
    "heads_ig_positive": "IG > 0 的头 · heads with IG > 0",
    "of_which_loo_negative": "其中移除后损失下降 · of which LOO < 0",
    "delta_loss_without_positive": "移除全部 IG > 0 的 ΔL · ΔL removing all IG > 0",
    "heldout_loss": "留出集 L(1) · held-out L(1)",
    "strategy": "策略 · strategy",
    "k": "k",
    "delta_loss": "ΔL",
    "rel_delta_loss": "ΔL / L",
    "percentile_among_random": "在随机子集中的百分位 · percentile among random",
    "gap_to_greedy": "与贪心之差 · gap to greedy",
    "max_fraction_within_1pct": "损失增幅 ≤ 1% 的最大比例 · max fraction within 1%",
    "auc_0_50": "0–50% 平均 ΔL/L · mean ΔL/L 0–50%",
}


def show(table: pd.DataFrame, index: list[str], digits: int = 3) -> pd.DataFrame:
    """A table for the page (``display.for_reader``): indexed by the key columns, 3
    significant digits, columns under their display labels, models by their names."""
    names = {"ar": "AR", "llada": "LLaDA", "dream": "Dream"}
    if "model" in table:
        table = table.assign(model=table["model"].map(lambda m: names.get(m, m)))
    return labelled(table, index, LABELS, digits)
