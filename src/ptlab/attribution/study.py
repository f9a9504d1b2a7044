"""The attribution study of the lab's Note 5 (book/en/notes.md) for one trained family, as
tables for the chapter."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ptlab.attribution import pruning as pr
from ptlab.attribution import scores as sc
from ptlab.attribution.family import FamilySpec, eval_set
from ptlab.attribution.losses import loss_at
from ptlab.progress import progress_bar

BASELINES = (0.0, 0.3, 0.5, 0.9)


@dataclass
class StudySettings:
    n_windows: int = 64  # attribution windows per set (code, prose)
    n_verify: int = 128  # held-out verification windows
    n_steps: int = 32
    n_random: int = 50  # random pruning orders
    n_subsets: int = 200  # random 30 % subsets for the verification
    n_shapley: int = 30  # Shapley permutations
    n_boot: int = 1000
    prune_fraction: float = 0.3


@dataclass
class ModelResult:
    objective: str
    ig: dict = field(default_factory=dict)  # set -> [B, N] per-example IG (b = 0)
    tables: dict = field(default_factory=dict)


def _boot_mean_ci(per_example: np.ndarray, n_boot: int, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap CI over windows of the mean (over heads) IG."""
    rng = np.random.default_rng(seed)
    B = len(per_example)
    means = [per_example[rng.integers(0, B, B)].mean() for _ in range(n_boot)]
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _rho(a, b) -> float:
    return float(stats.spearmanr(a, b)[0])


def analyse_model(model, objective: str, spec: FamilySpec, s: StudySettings) -> dict:
    """Every table of the chapter for one model."""
    N = spec.n_layers * spec.n_heads
    sets = {k: eval_set(k, s.n_windows, spec, objective) for k in ("code", "prose")}
    held = eval_set("heldout", s.n_verify, spec, objective)
    out: dict = {"objective": objective}
    ig_sets, stat_rows = {}, []
    for name, es in sets.items():
        per, delta = sc.integrated_gradients(
            model,
            es.tokens,
            0.0,
            s.n_steps,
            objective=objective,
            noise=None if objective == "ar" else (es.t, es.mask),
            per_example=True,
        )
        ig = per.mean(0).numpy()
        ig_sets[name] = ig
        L1, L0 = loss_at(model, es), loss_at(model, es, torch.zeros(N))
        lo, hi = _boot_mean_ci(per.numpy(), s.n_boot)
        stat_rows.append(
            {
                "model": objective,
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
                "L(1)": L1,
                "L(0)": L0,
                "sum_IG": ig.sum(),
                "delta": float(delta.mean()),
                "rel_delta": abs(float(delta.mean())) / max(abs(L1 - L0), 1e-12),
            }
        )
    out["stats"] = pd.DataFrame(stat_rows)
    out["ig"] = ig_sets
    code = sets["code"]
    grads = sc.gradients_at_ones(model, code)
    mic = sc.michel(grads, spec.n_layers)
    loo = sc.leave_one_out(model, code)
    phi = sc.shapley_sampled(model, code, s.n_shapley)
    ig = ig_sets["code"]
    out["scores"] = pd.DataFrame(
        {
            "head": np.arange(N),
            "layer": np.arange(N) // spec.n_heads,
            "ig_code": ig,
            "ig_prose": ig_sets["prose"],
            "michel_abs": mic["abs"],
            "michel_signed": mic["signed"],
            "loo": loo,
            "shapley": phi,
        }
    )
    out["correlations"] = pd.DataFrame(
        [
            {
                "model": objective,
                "IG code vs prose": _rho(ig, ig_sets["prose"]),
                "IG vs −LOO": _rho(ig, -loo),
                "IG vs signed Michel": _rho(ig, mic["signed"]),
                "|IG| vs Michel I": _rho(np.abs(ig), mic["abs"]),
                "IG vs Shapley": _rho(ig, phi),
                "signed Michel vs −LOO": _rho(mic["signed"], -loo),
            }
        ]
    )
    # baselines
    rows = []
    for b in BASELINES:
        igb, d = sc.integrated_gradients(
            model,
            code.tokens,
            b,
            s.n_steps,
            objective=objective,
            noise=None if objective == "ar" else (code.t, code.mask),
        )
        igb = igb.numpy()
        Lb = loss_at(model, code, torch.full((N,), b))
        rows.append(
            {
                "model": objective,
                "baseline": b,
                "L(b)": Lb,
                "sum_IG": igb.sum(),
                "L(1) − L(b)": out["stats"].iloc[0]["L(1)"] - Lb,
                "delta": float(d),
                "frac_negative": (igb < 0).mean(),
                "rho vs IG(0)": _rho(igb, ig),
                "rho vs −LOO": _rho(igb, -loo),
                "IG(b)/(1−b) vs g: max abs diff": float(
                    np.abs(igb / (1 - b) - mic["signed"]).max()
                ),
            }
        )
    out["baselines"] = pd.DataFrame(rows)
    # the sign question: do IG > 0 heads lower the loss when removed?
    pos = np.flatnonzero(ig > 0)
    L1h = loss_at(model, held)
    all_pos = loss_at(model, held, pr.masks_from_sets([pos], N)[0]) if len(pos) else L1h
    out["sign"] = pd.DataFrame(
        [
            {
                "model": objective,
                "heads IG>0": len(pos),
                "of them: removal lowers loss (LOO<0)": int((loo[pos] < 0).sum()),
                "ΔL removing all IG>0 (held-out)": all_pos - L1h,
                "L(1) held-out": L1h,
            }
        ]
    )
    # pruning curves on the held-out set
    orders = pr.strategy_orders(ig, mic["abs"], loo)
    curves = {name: pr.curve(model, held, pr.prefix_sets(o)) for name, o in orders.items()}
    curves["layer_bands"] = pr.curve(model, held, pr.band_sets(ig, spec.n_layers, spec.n_heads))
    g_order, curves["greedy"] = pr.greedy(model, held)
    rand = pr.random_curves(model, held, s.n_random)
    long = []
    for name, c in curves.items():
        for k, v in enumerate(c):
            long.append(
                {
                    "model": objective,
                    "strategy": name,
                    "k": k,
                    "fraction": k / N,
                    "loss": v,
                    "rel": (v - c[0]) / c[0],
                }
            )
    for q, lab in ((5, "random p5"), (50, "random median"), (95, "random p95")):
        c = np.percentile(rand, q, axis=0)
        for k, v in enumerate(c):
            long.append(
                {
                    "model": objective,
                    "strategy": lab,
                    "k": k,
                    "fraction": k / N,
                    "loss": v,
                    "rel": (v - L1h) / L1h,
                }
            )
    out["curves"] = pd.DataFrame(long)
    # verification: prune 30 % and place among random subsets
    k = round(s.prune_fraction * N)
    rnd = pr.random_subsets(model, held, k, s.n_subsets)
    ver = []
    for name, c in curves.items():
        v = c[k]
        ver.append(
            {
                "model": objective,
                "strategy": name,
                "k": k,
                "ΔL": v - L1h,
                "ΔL/L": (v - L1h) / L1h,
                "percentile among random": float((rnd < v).mean() * 100),
                "gap to greedy": v - curves["greedy"][k],
                "max fraction within 1%": pr.largest_fraction_within(c),
                "AUC 0–50%": float(np.mean([(x - c[0]) / c[0] for x in c[: N // 2 + 1]])),
            }
        )
    ver.append(
        {
            "model": objective,
            "strategy": "random (mean)",
            "k": k,
            "ΔL": float(rnd.mean() - L1h),
            "ΔL/L": float((rnd.mean() - L1h) / L1h),
            "percentile among random": 50.0,
            "gap to greedy": rnd.mean() - curves["greedy"][k],
            "max fraction within 1%": np.nan,
            "AUC 0–50%": np.nan,
        }
    )
    out["verification"] = pd.DataFrame(ver)
    return out


def run(models: dict, spec: FamilySpec, s: StudySettings, progress: bool = True) -> dict:
    """analyse_model for every objective; tables concatenated across models."""
    res = {}
    for o in progress_bar(list(models), desc="attribution", disable=not progress):
        res[o] = analyse_model(models[o], o, spec, s)
    tables = {}
    for key in ("stats", "correlations", "baselines", "sign", "curves", "verification"):
        tables[key] = pd.concat([r[key] for r in res.values()], ignore_index=True)
    tables["scores"] = {o: r["scores"] for o, r in res.items()}
    return tables
