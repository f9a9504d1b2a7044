"""The attribution study of the lab's Note 5 (book/en/notes.md) for one trained family: one
function per table, each returning a DataFrame with snake_case column ids; ``analyze_model``
drives them for one model and ``run`` for the family. Display labels (both languages) are
applied only where a table is shown (``show``). Shown in: chapter *attribution*.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ptlab.attribution import pruning as pr
from ptlab.attribution import scores as sc
from ptlab.attribution.family import eval_set
from ptlab.attribution.losses import EvalSet, loss_at
from ptlab.display import labelled
from ptlab.progress import progress_bar

BASELINES = (0.0, 0.3, 0.5, 0.9)


@dataclass
class StudySettings:
    n_windows: int = 64  # attribution windows per set (code, prose)
    n_verify: int = 128  # held-out verification windows
    n_steps: int = 32  # Gauss–Legendre nodes of IG
    n_random: int = 50  # random pruning orders
    n_subsets: int = 200  # random 30 % subsets for the verification
    n_shapley: int = 30  # Shapley permutations
    n_boot: int = 1000
    prune_fraction: float = 0.3


@dataclass
class Tables:
    """The chapter's tables: for one model (``analyze_model``) or the family (``run``, rows of
    every model concatenated; ``scores`` then maps each model to its per-head table)."""

    stats: pd.DataFrame  # sign statistics of IG on each window set
    scores: pd.DataFrame | dict  # per-head IG, Michel, LOO, Shapley
    correlations: pd.DataFrame  # Spearman correlations between the scores
    baselines: pd.DataFrame  # IG at baselines b < 1 against the b → 1 gradient
    sign: pd.DataFrame  # do IG > 0 heads lower the loss when removed?
    curves: pd.DataFrame  # pruning curves (long format)
    verification: pd.DataFrame  # pruning 30 % against random subsets


def _boot_mean_ci(per_example: np.ndarray, n_boot: int, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap CI over windows of the mean (over heads) IG."""
    rng = np.random.default_rng(seed)
    B = len(per_example)
    means = [per_example[rng.integers(0, B, B)].mean() for _ in range(n_boot)]
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _rho(a, b) -> float:
    return float(stats.spearmanr(a, b)[0])


def ig_statistics(model, member: str, sets: dict[str, EvalSet], s: StudySettings):
    """(table, {set: IG [N]}): sign statistics of IG (b = 0) on each window set."""
    rows, igs = [], {}
    N = model.cfg.n_gates
    for name, es in sets.items():
        per, delta = sc.integrated_gradients(
            model, es, 0.0, s.n_steps, per_example=True, return_convergence_delta=True
        )
        ig = igs[name] = per.mean(0)
        loss_on, loss_off = loss_at(model, es), loss_at(model, es, torch.zeros(N))
        lo, hi = _boot_mean_ci(per, s.n_boot)
        rows.append(
            {
                "model": member,
                "set": name,
                "heads": N,
                "mean": ig.mean(),
                "mean_ci_low": lo,
                "mean_ci_high": hi,
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
        )
    return pd.DataFrame(rows), igs


def head_scores(model, code: EvalSet, igs: dict[str, np.ndarray], n_shapley: int):
    """Per-head scores on the code windows: IG (code, prose), Michel, LOO, sampled Shapley."""
    N, H = model.cfg.n_gates, model.cfg.n_heads
    return pd.DataFrame(
        {
            "head": np.arange(N),
            "layer": np.arange(N) // H,
            "ig_code": igs["code"],
            "ig_prose": igs["prose"],
            "michel_abs": sc.michel(model, code),
            "michel_signed": sc.michel(model, code, signed=True),
            "loo": sc.leave_one_out(model, code),
            "shapley": sc.shapley_sampled(model, code, n_shapley),
        }
    )


def correlations(member: str, scores: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlations between the scores (LOO negated: IG < 0 and LOO > 0 both say
    "useful")."""
    ig, loo, signed = scores["ig_code"], -scores["loo"], scores["michel_signed"]
    row = {
        "model": member,
        "ig_code_vs_prose": _rho(ig, scores["ig_prose"]),
        "ig_vs_neg_loo": _rho(ig, loo),
        "ig_vs_signed_michel": _rho(ig, signed),
        "abs_ig_vs_michel": _rho(np.abs(ig), scores["michel_abs"]),
        "ig_vs_shapley": _rho(ig, scores["shapley"]),
        "signed_michel_vs_neg_loo": _rho(signed, loo),
    }
    return pd.DataFrame([row])


def baseline_table(model, member: str, code: EvalSet, scores: pd.DataFrame, n_steps: int):
    """IG at each baseline b: completeness, signs, and IG(b)/(1−b) against the gradient."""
    N = model.cfg.n_gates
    ig0, loo = scores["ig_code"].to_numpy(), scores["loo"].to_numpy()
    gradient = scores["michel_signed"].to_numpy()
    loss_on = loss_at(model, code)
    rows = []
    for b in BASELINES:
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


def pruning_curves(model, held: EvalSet, scores: pd.DataFrame) -> dict[str, np.ndarray]:
    """Loss after pruning k = 0..N heads, per strategy (the note's three, the references and
    the greedy oracle, which is fitted on these same windows: in-sample)."""
    ig = scores["ig_code"].to_numpy()
    orders = pr.strategy_orders(ig, scores["michel_abs"].to_numpy(), scores["loo"].to_numpy())
    curves = {name: pr.curve(model, held, pr.prefix_sets(o)) for name, o in orders.items()}
    bands = pr.band_sets(ig, model.cfg.n_layers, model.cfg.n_heads)
    curves["layer_bands"] = pr.curve(model, held, bands)
    curves["greedy"] = pr.greedy(model, held)[1]
    return curves


def curves_table(member: str, curves: dict, random: np.ndarray, loss_on: float) -> pd.DataFrame:
    """Long format: one row per (strategy, k), with the random orders' 5/50/95 % band."""
    N = len(random[0]) - 1
    named = dict(curves)
    for q, label in ((5, "random p5"), (50, "random median"), (95, "random p95")):
        named[label] = np.percentile(random, q, axis=0)
    rows = []
    for name, c in named.items():
        ref = loss_on if name.startswith("random") else c[0]
        for k, v in enumerate(c):
            rows.append(
                {
                    "model": member,
                    "strategy": name,
                    "k": k,
                    "fraction": k / N,
                    "loss": v,
                    "rel": (v - ref) / ref,
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
            "strategy": "random (mean)",
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


def analyze_model(model, member: str, s: StudySettings) -> Tables:
    """Every table of the chapter for one model."""
    sets = {k: eval_set(k, s.n_windows, model) for k in ("code", "prose")}
    held = eval_set("heldout", s.n_verify, model)
    stats_table, igs = ig_statistics(model, member, sets, s)
    scores = head_scores(model, sets["code"], igs, s.n_shapley)
    curves = pruning_curves(model, held, scores)
    loss_on = loss_at(model, held)
    random = pr.random_curves(model, held, s.n_random)
    k = round(s.prune_fraction * model.cfg.n_gates)
    subsets = pr.random_subsets(model, held, k, s.n_subsets)
    return Tables(
        stats=stats_table,
        scores=scores,
        correlations=correlations(member, scores),
        baselines=baseline_table(model, member, sets["code"], scores, s.n_steps),
        sign=sign_table(model, member, held, scores),
        curves=curves_table(member, curves, random, loss_on),
        verification=verification_table(member, curves, subsets, loss_on, k),
    )


def run(models: dict, s: StudySettings, progress: bool = True) -> Tables:
    """analyze_model for every member; tables concatenated across models."""
    per = {
        o: analyze_model(models[o], o, s)
        for o in progress_bar(list(models), desc="attribution", disable=not progress)
    }
    out = {
        f.name: pd.concat([getattr(t, f.name) for t in per.values()], ignore_index=True)
        for f in fields(Tables)
        if f.name != "scores"
    }
    return Tables(scores={o: t.scores for o, t in per.items()}, **out)


# Display labels, one per column id, in both languages (the pages share one table).
LABELS = {
    "model": "模型 · model",
    "set": "窗口集 · set",
    "heads": "头数 · heads",
    "mean": "均值 · mean",
    "mean_ci_low": "均值 95% CI 下限 · mean CI low",
    "mean_ci_high": "均值 95% CI 上限 · mean CI high",
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


def show(table: pd.DataFrame, index: list[str], digits: int = 4) -> pd.DataFrame:
    """A table for the page: indexed, rounded, columns under their display labels."""
    return labelled(table, index, LABELS, digits)
