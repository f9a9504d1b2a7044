"""The circuits study: the trained family → its tables, one function per table, each returning a
DataFrame with snake_case column ids (display labels in ``show``). ``run`` drives them.
Shown in: chapter *circuits*.

Protocol (decisions; Gao et al. 2025, §4 and §6):

* Tasks: ``n_prune_pairs`` train-split pairs (masks learn on them and the target is met on
  them) and ``n_heldout_pairs`` held-out pairs (unseen templates and names). A task is *solved*
  by a model (one training seed) when the full model's loss on the pruning pairs is below
  ``solve_threshold``, which lies below the target, so the circuit has room: the target is met
  on those pairs. Only solved tasks are pruned; the others are reported in ``tasks``. The
  held-out pairs measure the circuit against the full model (sufficiency within
  ``sufficiency_margin``), not the full model against the task.
* Per solved (model, training seed, task): ``prune.find_circuit`` (mean ablation) with
  ``prune_seeds`` pruning seeds. On the control model (``control_model``, its first training
  seed): the attribution baseline (``prune.prune_by_attribution``) and, when
  ``zero_ablation``, the same pruning under zero ablation, one pruning seed each (time: this is
  the widest model).
* Each circuit row: nodes, edges, the phase that gave it, the share of saturated masks, its
  calibrated loss on the pruning pairs; on the held-out pairs its loss alone with the pruning
  pairs' calibration (sufficiency), the same with the norms frozen at the unpruned model's
  scales, the full model's loss (raw, and calibrated on the pruning pairs like the circuit: the
  sufficiency reference), the loss with only the circuit ablated (necessity) and the mean over
  ``n_random`` sets of as many random non-circuit nodes.
* Controls, as strong as the real pruning (the same grid, steps, resumes, calibration and
  cleanup), on the control model's first training seed: its random-initialisation twin
  (``family.random_init``) and the trained model with shuffled labels, both on the first task
  it solves (time), and a nonsense task (``tasks.nonsense``: unrelated prompts, arbitrary
  answers).
* Matched pretraining loss: for a sparse model at loss L (one training seed), the dense size at
  L is interpolated linearly in (L, log size) between the two dense models of the same training
  seed whose losses bracket L (same task, same pruning seed); outside the dense range the
  nearest dense model is used and the row says so. Sizes are edges and nodes.
* Intervals (``bootstrap``): the geometric mean of a ratio over the cells (task × training seed
  × pruning seed), with a 95 % percentile interval from resampling tasks, training seeds and
  pruning seeds with replacement (crossed). With two seeds of each kind the interval understates
  the seed spread; the chapter says so. "Without outliers" drops cells outside Tukey's fences
  (1.5 IQR) of the log ratios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from ptlab import data
from ptlab.circuits import prune as pr
from ptlab.circuits import tasks as tk
from ptlab.circuits.edges import count_edges
from ptlab.circuits.family import CircuitsSpec, Trained, random_init
from ptlab.circuits.model import NodeIndex, nonzero_params, total_params
from ptlab.circuits.tasks import TaskSet, task_loss
from ptlab.display import labelled
from ptlab.progress import progress_bar

CONTROLS = ("none", "random_init", "shuffled", "nonsense")
METHODS = ("learned", "attribution")
SIZES = ("edges", "nodes")
BOOTSTRAP_REPS = 2000
Key = tuple[str, int]  # (model name, training seed)


@dataclass
class TaskData:
    """One task's pruning (train split) and held-out pairs, and their shuffled-label twins."""

    prune: TaskSet
    heldout: TaskSet

    def shuffled(self, seed: int) -> TaskData:
        return TaskData(
            tk.shuffled_labels(self.prune, seed), tk.shuffled_labels(self.heldout, seed + 1)
        )


def task_data(spec: CircuitsSpec, device="cpu", tasks=None) -> dict[str, TaskData]:
    L = spec.model.seq_len - 1  # BOS + prompt fit in one window
    out = {}
    for t in spec.tasks if tasks is None else tasks:
        prune = tk.make_pairs(t, "train", spec.n_prune_pairs, seed=101, max_len=L)
        held = tk.make_pairs(t, "heldout", spec.n_heldout_pairs, seed=202, max_len=L)
        out[t] = TaskData(tk.task_set(prune).to(device), tk.task_set(held).to(device))
    return out


def device_of(family: dict[Key, Trained]) -> torch.device:
    return next(next(iter(family.values())).model.parameters()).device


def means_for(spec: CircuitsSpec, model, seed: int = 0) -> dict:
    """Node means over ``mean_batches`` windows of the pretraining mixture."""
    stream = tk.pretraining_stream(spec.mix_fraction, seed, spec.tasks)
    batches = [
        data.get_batch(
            stream,
            seed=5_000 + seed,
            step=i,
            batch_size=spec.train.batch_size,
            seq_len=spec.model.seq_len,
        )[:, :-1].to(next(model.parameters()).device)
        for i in range(spec.mean_batches)
    ]
    return pr.node_means(model, batches)


# --- table 1: models ---------------------------------------------------------------------------


def models_table(family: dict[Key, Trained], spec: CircuitsSpec) -> pd.DataFrame:
    rows = [
        {
            "model": name,
            "train_seed": seed,
            "kind": t.spec.kind,
            "d_model": t.spec.d_model,
            "n_layers": spec.model.n_layers,
            "l0_fraction": t.spec.l0,
            "embed_l0_fraction": spec.embed_l0(t.spec),
            "nonzero_params": nonzero_params(t.model),
            "total_params": total_params(t.model),
            "pretrain_loss": t.pretrain_loss,
            "status": t.status,
            "train_seconds": t.train_seconds,
        }
        for (name, seed), t in family.items()
    ]
    return pd.DataFrame(rows)


def sig(x: float, digits: int = 3) -> str:
    """``digits`` significant digits, never in scientific notation (1410, 84.2, 0.0421)."""
    if not np.isfinite(x) or x == 0:
        return f"{x:g}"
    places = digits - 1 - int(np.floor(np.log10(abs(x))))
    return f"{round(x, places):.{max(places, 0)}f}"


def mean_sd(x, digits: int = 3) -> str:
    """'mean ± sd' on one line (3 significant digits; the sd only with two or more values)."""
    x = pd.Series(x, dtype=float).dropna()
    if x.empty:
        return "—"
    if len(x) == 1:
        return sig(x.iloc[0], digits)
    return f"{sig(x.mean(), digits)} ± {sig(x.std(ddof=1), 2)}"


def models_summary(models: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """Per model, over its training seeds: nonzero parameters, pretraining loss (mean ± sd) and
    the tasks it solves in every seed."""
    rows = []
    for name, g in models.groupby("model", sort=False):
        t = tasks[tasks["model"] == name].groupby("task")["solved"].all()
        rows.append(
            {
                "model": name,
                "nonzero_mean": int(g["nonzero_params"].mean()),
                "loss_mean_sd": mean_sd(g["pretrain_loss"]),
                "solved_tasks": ", ".join(sorted(t[t].index)) or "—",
            }
        )
    return pd.DataFrame(rows)


def circuits_summary(circ: pd.DataFrame) -> pd.DataFrame:
    """Per model and task, over training and pruning seeds: nodes and edges (mean ± sd) of the
    main circuits and how many reached the target."""
    base = circ[
        (circ["control"] == "none") & (circ["ablation"] == "mean") & (circ["method"] == "learned")
    ]
    rows = []
    for (model, task), g in base.groupby(["model", "task"], sort=False):
        hit = g[g["reached"].astype(bool)]
        rows.append(
            {
                "model": model,
                "task": task,
                "nodes_mean_sd": mean_sd(hit["nodes"]),
                "edges_mean_sd": mean_sd(hit["edges"]),
                "reached": f"{len(hit)}/{len(g)}",
            }
        )
    return pd.DataFrame(
        rows, columns=["model", "task", "nodes_mean_sd", "edges_mean_sd", "reached"]
    )


# --- table 2: does the full model solve each task? ---------------------------------------------


@torch.no_grad()
def tasks_table(family: dict[Key, Trained], sets: dict[str, TaskData], threshold: float):
    rows = []
    for (name, seed), t in family.items():
        for task, d in sets.items():
            on_prune = float(task_loss(t.model, d.prune))
            rows.append(
                {
                    "model": name,
                    "train_seed": seed,
                    "task": task,
                    "prune_task_loss": on_prune,
                    "heldout_task_loss": float(task_loss(t.model, d.heldout)),
                    "solved": on_prune < threshold,
                }
            )
    return pd.DataFrame(rows)


# --- table 3: circuits -------------------------------------------------------------------------

Job = tuple[str, int, str, str, str, str, int]
JOB_FIELDS = ("model", "train_seed", "task", "ablation", "control", "method", "prune_seed")


@dataclass
class Circuit:
    """One pruning result: its row of ``circuits`` and the kept node mask (None: not found)."""

    row: dict
    keep: torch.Tensor | None = field(default=None, repr=False)


def random_keep(n: int, circuit: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """All nodes but a random set of |circuit| nodes drawn from outside the circuit."""
    outside = (~circuit).nonzero().flatten()
    drop = outside[torch.randperm(len(outside), generator=gen)[: int(circuit.sum())]]
    keep = torch.ones(n, dtype=torch.bool)
    keep[drop] = False
    return keep


def validate(
    model, found: pr.Found, d: TaskData, means, n_random: int, seed: int, max_scale: float = 4.0
) -> dict:
    """Sufficiency (calibrated with the pruning pairs' fit, raw, norms frozen), the full model's
    held-out loss under its own pruning-pair calibration (the reference), necessity and the
    random-ablation comparison on the held-out pairs."""
    gen = torch.Generator().manual_seed(seed)
    keep, n = found.keep, len(found.keep)
    full = torch.ones(n, dtype=torch.bool)
    full_cal = pr.calibrated_loss(model, d.prune, means, full, True, max_scale)[1]
    rand = [
        pr.loss_keeping(model, d.heldout, means, random_keep(n, keep, gen)) for _ in range(n_random)
    ]
    return {
        "heldout_task_loss": pr.loss_keeping(model, d.heldout, means, keep, found.cal),
        "heldout_raw_loss": pr.loss_keeping(model, d.heldout, means, keep),
        "frozen_norm_loss": pr.loss_keeping(model, d.heldout, means, keep, found.cal, frozen=True),
        "full_calibrated_loss": pr.loss_keeping(model, d.heldout, means, full, full_cal),
        "necessity_loss": pr.loss_keeping(model, d.heldout, means, ~keep),
        "random_necessity_loss": float(np.mean(rand)),
    }


def prune_one(model, d: TaskData, means, spec: CircuitsSpec, job: Job) -> Circuit:
    """Prune by the job's method and ablation, then validate; ``reached`` False when no phase
    (or, for attribution, no top-k) meets the target on the pruning pairs."""
    ablation, method, seed = job[3], job[5], job[6]
    cfg = spec.prune
    if ablation == "zero":
        means = pr.zero_means(means)
    if method == "attribution":
        found = pr.prune_by_attribution(model, d.prune, means, cfg, seed)
    else:
        found = pr.find_circuit(
            model, d.prune, means, cfg, seed, size=lambda k: count_edges(model, k)
        )
    with torch.no_grad():
        row = dict(zip(JOB_FIELDS, job, strict=True)) | {
            "target_loss": cfg.target,
            "full_task_loss": float(task_loss(model, d.heldout)),
        }
    if found is None:
        return Circuit({**row, "reached": False, "nodes": np.nan, "edges": np.nan})
    row |= {
        "reached": True,
        "nodes": int(found.keep.sum()),
        "edges": count_edges(model, found.keep),
        "nodes_bisected": int(found.before_cleanup.sum()),
        "edges_bisected": count_edges(model, found.before_cleanup),
        "k_coef": found.k_coef,
        "phases": found.phases,
        "saturated": found.saturated,
        "mask_nodes": found.mask_nodes,
        "prune_loss": found.loss,
        "scale": found.cal[0],
        "shift": found.cal[1],
    }
    checks = validate(model, found, d, means, spec.n_random, seed, cfg.max_scale)
    return Circuit(row | checks, found.keep)


def control_model(family: dict[Key, Trained]) -> str | None:
    """The widest sparse model, the sparsest among those: the headline model, on which the
    controls, the zero ablation and the attribution baseline run."""
    sparse = [t.spec for t in family.values() if t.spec.kind == "sparse"]
    return min(sparse, key=lambda m: (-m.d_model, m.l0)).name if sparse else None


def circuit_jobs(spec: CircuitsSpec, family, solved: pd.DataFrame) -> list[Job]:
    """Every pruning run the study does (see the module docstring)."""
    jobs: list[Job] = []
    ctrl = control_model(family)
    controlled = False
    for name, seed, task in solved[["model", "train_seed", "task"]].itertuples(index=False):
        jobs += [(name, seed, task, "mean", "none", "learned", p) for p in range(spec.prune_seeds)]
        if name == ctrl and seed == 0:
            if spec.zero_ablation:
                jobs.append((name, seed, task, "zero", "none", "learned", 0))
            jobs.append((name, seed, task, "mean", "none", "attribution", 0))
            if not controlled:  # the first task it solves (time)
                jobs += [(name, 0, task, "mean", c, "learned", 0) for c in CONTROLS[1:3]]
                controlled = True
    if any(j[0] == ctrl and j[1] == 0 for j in jobs):
        jobs.append((ctrl, 0, "nonsense", "mean", "nonsense", "learned", 0))
    return jobs


@dataclass
class Context:
    """What a pruning job reads: the models, their node means, the task data, the spec."""

    spec: CircuitsSpec
    models: dict[Key, torch.nn.Module]
    means: dict[Key, dict]
    sets: dict[str, TaskData]
    twin: tuple | None  # (model, means) of the control model's random-init twin

    def run(self, job: Job) -> Circuit:
        name, seed, task, _, control, _, _ = job
        model, means = self.models[(name, seed)], self.means[(name, seed)]
        d = self.sets[task]
        if control == "random_init":
            model, means = self.twin
        elif control == "shuffled":
            d = d.shuffled(seed + 7)
        return prune_one(model, d, means, self.spec, job)


_CONTEXT: Context | None = None  # a worker's copy (set once per process by _init_worker)


def _init_worker(ctx: Context, threads: int) -> None:
    global _CONTEXT
    torch.set_num_threads(threads)
    _CONTEXT = ctx


def _run_job(job: Job) -> tuple[Job, Circuit]:
    return job, _CONTEXT.run(job)


def job_cost(job: Job, family) -> float:
    """A rough cost for ordering the pool (largest first): the model's width squared."""
    t = family.get((job[0], job[1]))
    return float(t.spec.d_model**2 if t is not None else 0)


def circuits(
    spec, family, sets, solved, progress=True, workers: int = 1, threads: int = 1
) -> dict[Job, Circuit]:
    """Every pruning run: {job: Circuit}, in ``workers`` spawned processes when > 1."""
    jobs = circuit_jobs(spec, family, solved)
    ctrl = control_model(family)
    twin = None
    if any(j[4] == "random_init" for j in jobs):
        t = random_init(spec, family[(ctrl, 0)].spec, 1_000)
        twin = (t.model, means_for(spec, t.model, 0))
    all_sets = dict(sets)
    if any(j[2] == "nonsense" for j in jobs):
        all_sets |= task_data(spec, device_of(family), ("nonsense",))
    ctx = Context(
        spec,
        {k: t.model for k, t in family.items()},
        {k: means_for(spec, t.model, 0) for k, t in family.items()},
        all_sets,
        twin,
    )
    jobs.sort(key=lambda j: -job_cost(j, family))
    bar = progress_bar(total=len(jobs), desc="prune", disable=not progress)
    out: dict[Job, Circuit] = {}
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from multiprocessing import get_context

        with ProcessPoolExecutor(
            workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(ctx, threads),
        ) as pool:
            for f in as_completed([pool.submit(_run_job, j) for j in jobs]):
                job, c = f.result()
                out[job] = c
                bar.update(1)
    else:
        for job in jobs:
            out[job] = ctx.run(job)
            bar.update(1)
    bar.close()
    return {j: out[j] for j in sorted(out, key=lambda j: tuple(map(str, j)))}


CIRCUIT_COLUMNS = [
    *JOB_FIELDS,
    "target_loss",
    "reached",
    "nodes",
    "edges",
    "nodes_bisected",
    "edges_bisected",
    "k_coef",
    "phases",
    "saturated",
    "mask_nodes",
    "prune_loss",
    "scale",
    "shift",
    "heldout_task_loss",
    "heldout_raw_loss",
    "frozen_norm_loss",
    "full_task_loss",
    "full_calibrated_loss",
    "necessity_loss",
    "random_necessity_loss",
]


def circuits_table(results: dict[Job, Circuit]) -> pd.DataFrame:
    return pd.DataFrame([c.row for c in results.values()]).reindex(columns=CIRCUIT_COLUMNS)


def main_circuits(circ: pd.DataFrame) -> pd.DataFrame:
    """The circuits of the comparison: learned masks, mean ablation, no control, reached."""
    return circ[
        (circ["control"] == "none")
        & (circ["ablation"] == "mean")
        & (circ["method"] == "learned")
        & circ["reached"].astype(bool)
    ]


# --- table 4: sizes sparse / dense at matched pretraining loss ---------------------------------


def matched_dense(points: pd.DataFrame, loss: float, size: str = "edges"):
    """Dense ``size`` at pretraining ``loss`` from ``points`` (columns pretrain_loss and size):
    linear in (loss, log size) between the two bracketing models, else the nearest model.
    Returns (size, how, loss gap to the model used: 0 when interpolated)."""
    p = points.sort_values("pretrain_loss")
    x = p["pretrain_loss"].to_numpy()
    y = np.log(p[size].to_numpy(dtype=float).clip(min=1))
    if len(x) == 0:
        return np.nan, "none", np.nan
    if x[0] <= loss <= x[-1] and len(x) > 1:
        return float(np.exp(np.interp(loss, x, y))), "interpolated", 0.0
    i = int(np.argmin(np.abs(x - loss)))
    return float(np.exp(y[i])), "nearest", float(loss - x[i])


def ratio_table(models: pd.DataFrame, circ: pd.DataFrame) -> pd.DataFrame:
    """Per sparse model, training seed, task and pruning seed: its edges and nodes, the dense
    ones at its pretraining loss (dense models of the same training seed, task and pruning
    seed) and the ratios. ``loss_gap``: the sparse loss minus the nearest dense model's when
    it is not bracketed (else 0)."""
    c = main_circuits(circ).merge(
        models[["model", "train_seed", "kind", "pretrain_loss"]], on=["model", "train_seed"]
    )
    rows = []
    for (task, tseed, pseed), g in c.groupby(["task", "train_seed", "prune_seed"]):
        dense = g[g["kind"] == "dense"]
        for r in g[g["kind"] == "sparse"].itertuples():
            row = {
                "model": r.model,
                "train_seed": tseed,
                "task": task,
                "prune_seed": pseed,
                "pretrain_loss": r.pretrain_loss,
            }
            for size in SIZES:
                mine = max(float(getattr(r, size)), 1.0)
                theirs, how, gap = matched_dense(dense, r.pretrain_loss, size)
                row |= {
                    f"sparse_{size}": mine,
                    f"dense_{size}": theirs,
                    f"{size}_ratio": mine / theirs,
                }
            rows.append(row | {"match": how, "loss_gap": gap})
    cols = [
        "model",
        "train_seed",
        "task",
        "prune_seed",
        "pretrain_loss",
        "sparse_edges",
        "dense_edges",
        "edges_ratio",
        "sparse_nodes",
        "dense_nodes",
        "nodes_ratio",
        "match",
        "loss_gap",
    ]
    return pd.DataFrame(rows, columns=cols)


def geomean(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.exp(np.log(x).mean())) if len(x) else np.nan


def tukey_inliers(values: np.ndarray) -> np.ndarray:
    """bool: inside Tukey's fences [Q1 − 1.5 IQR, Q3 + 1.5 IQR]."""
    if len(values) < 4:
        return np.ones(len(values), dtype=bool)
    q1, q3 = np.percentile(values, [25, 75])
    iqr = q3 - q1
    return (values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)


@dataclass(frozen=True)
class Boot:
    """A mean of cell values (log scale) with its bootstrap interval and standard error."""

    estimate: float
    low: float
    high: float
    se: float
    cells: int

    def exp(self) -> tuple[float, float, float]:
        return math.exp(self.estimate), math.exp(self.low), math.exp(self.high)


def bootstrap(cells: pd.DataFrame, value: str, reps: int = BOOTSTRAP_REPS, seed: int = 0) -> Boot:
    """Mean of ``value`` over the cells (columns task, train_seed, prune_seed) with a 95 %
    percentile interval: tasks, training seeds and pruning seeds resampled with replacement,
    crossed (a replicate keeps the cells whose three indices were drawn, with multiplicity)."""
    c = cells.dropna(subset=[value])
    if c.empty:
        return Boot(np.nan, np.nan, np.nan, np.nan, 0)
    tasks = sorted(c["task"].unique())
    tseeds = sorted(c["train_seed"].unique())
    pseeds = sorted(c["prune_seed"].unique())
    cube = np.full((len(tasks), len(tseeds), len(pseeds)), np.nan)
    for r in c.itertuples():
        i, j, k = tasks.index(r.task), tseeds.index(r.train_seed), pseeds.index(r.prune_seed)
        cube[i, j, k] = getattr(r, value)
    est = float(np.nanmean(cube))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(reps):
        ti = rng.integers(len(tasks), size=len(tasks))
        si = rng.integers(len(tseeds), size=len(tseeds))
        pi = rng.integers(len(pseeds), size=len(pseeds))
        sub = cube[np.ix_(ti, si, pi)]
        if np.isfinite(sub).any():
            draws.append(float(np.nanmean(sub)))
    lo, hi = np.percentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
    se = float(np.std(draws, ddof=1)) if len(draws) > 1 else np.nan
    return Boot(est, float(lo), float(hi), se, int(np.isfinite(cube).sum()))


def ratio_summary(ratios: pd.DataFrame) -> pd.DataFrame:
    """Per sparse model and size (edges, nodes): the geometric-mean ratio over cells with its
    bootstrap interval, with and without Tukey outliers of the log ratio, and the tasks.
    Cells without any dense circuit to match (a task only sparse models solve) are left out
    and counted (``unmatched``), never silently turned into a missing ratio."""
    rows = []
    for model, g_all in ratios.groupby("model"):
        g = g_all[g_all["match"] != "none"]
        if g.empty:
            continue
        for size in SIZES:
            cells = g.assign(log_ratio=np.log(g[f"{size}_ratio"].astype(float)))
            inl = tukey_inliers(cells["log_ratio"].to_numpy())
            all_, trimmed = bootstrap(cells, "log_ratio"), bootstrap(cells[inl], "log_ratio")
            rows.append(
                {
                    "model": model,
                    "size": size,
                    "ratio": math.exp(all_.estimate),
                    "low": math.exp(all_.low),
                    "high": math.exp(all_.high),
                    "log_se": all_.se,
                    "cells": all_.cells,
                    "ratio_trimmed": math.exp(trimmed.estimate),
                    "low_trimmed": math.exp(trimmed.low),
                    "high_trimmed": math.exp(trimmed.high),
                    "outliers": int((~inl).sum()),
                    "tasks": int(g["task"].nunique()),
                    "unmatched": int(len(g_all) - len(g)),
                    "matched": "/".join(sorted(set(g["match"]))),
                    "loss_gap": float(g["loss_gap"].abs().max()),
                }
            )
    cols = [
        "model",
        "size",
        "ratio",
        "low",
        "high",
        "log_se",
        "cells",
        "ratio_trimmed",
        "low_trimmed",
        "high_trimmed",
        "outliers",
        "tasks",
        "unmatched",
        "matched",
        "loss_gap",
    ]
    return pd.DataFrame(rows, columns=cols)


# --- table 5: the frontier claims (L0 at one width, width at one L0) ---------------------------


def frontier_pairs(models: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(claim, a, b) per pair of sparse models the claims compare: ``l0``: a is the sparser of
    two at one width; ``width``: a is the wider of two at one L0."""
    sp = models[models["kind"] == "sparse"].drop_duplicates("model")
    out = []
    for claim, key, other, ascending in (
        ("l0", "d_model", "l0_fraction", True),
        ("width", "l0_fraction", "d_model", False),
    ):
        for _, g in sp.groupby(key):
            g = g.sort_values(other, ascending=ascending)
            for i in range(len(g) - 1):
                out.append((claim, g.iloc[i]["model"], g.iloc[i + 1]["model"]))
    return out


def frontier_table(models: pd.DataFrame, circ: pd.DataFrame) -> pd.DataFrame:
    """Per pair (a, b) of ``frontier_pairs``: the pretraining-loss difference a − b per
    training seed (mean and t interval) and the circuit-edge ratio a / b over the cells both
    reached (geometric mean and bootstrap interval)."""
    from ptlab.verdict import t_interval

    main = main_circuits(circ)
    rows = []
    for claim, a, b in frontier_pairs(models):
        la = models[models["model"] == a].set_index("train_seed")["pretrain_loss"]
        lb = models[models["model"] == b].set_index("train_seed")["pretrain_loss"]
        dloss = t_interval((la - lb).dropna().to_numpy())
        keys = ["task", "train_seed", "prune_seed"]
        ea = main[main["model"] == a].set_index(keys)["edges"].astype(float)
        eb = main[main["model"] == b].set_index(keys)["edges"].astype(float)
        both = pd.concat([ea.rename("a"), eb.rename("b")], axis=1).dropna().reset_index()
        both["log_ratio"] = np.log(both["a"].clip(lower=1)) - np.log(both["b"].clip(lower=1))
        boot = bootstrap(both, "log_ratio")
        rows.append(
            {
                "claim": claim,
                "model_a": a,
                "model_b": b,
                "loss_diff": dloss.estimate,
                "loss_low": dloss.low,
                "loss_high": dloss.high,
                "loss_detectable": dloss.detectable,
                "edge_ratio": math.exp(boot.estimate) if boot.cells else np.nan,
                "edge_low": math.exp(boot.low) if boot.cells else np.nan,
                "edge_high": math.exp(boot.high) if boot.cells else np.nan,
                "edge_log_se": boot.se,
                "cells": boot.cells,
            }
        )
    return pd.DataFrame(rows)


# --- table 6: learned vs attribution pruning ---------------------------------------------------


def methods_table(circ: pd.DataFrame) -> pd.DataFrame:
    """Per (model, training seed, task) with both methods on pruning seed 0: the edges and nodes
    of the learned and the attribution circuits after bisection, before any cleanup (the
    attribution baseline has none)."""
    base = circ[(circ["control"] == "none") & (circ["ablation"] == "mean")]
    base = base[base["prune_seed"] == 0]
    keys = ["model", "train_seed", "task"]
    learned = base[base["method"] == "learned"].set_index(keys)
    attr = base[base["method"] == "attribution"].set_index(keys)
    common = learned.index.intersection(attr.index)
    t = pd.DataFrame(
        {
            "learned_edges": learned.loc[common, "edges_bisected"].astype(float),
            "attribution_edges": attr.loc[common, "edges_bisected"].astype(float),
            "learned_nodes": learned.loc[common, "nodes_bisected"].astype(float),
            "attribution_nodes": attr.loc[common, "nodes_bisected"].astype(float),
        }
    ).reset_index()
    t["prune_seed"] = 0
    return t


# --- table 7: node overlap across pruning seeds ------------------------------------------------


def overlap_table(results: dict[Job, Circuit]) -> pd.DataFrame:
    """Jaccard |A ∩ B| / |A ∪ B| of the node sets of two pruning seeds (learned, mean ablation)."""
    rows = []
    groups: dict[tuple, list[torch.Tensor]] = {}
    for job, c in results.items():
        name, tseed, task, ablation, control, method, _ = job
        if ablation == "mean" and control == "none" and method == "learned" and c.keep is not None:
            groups.setdefault((name, tseed, task), []).append(c.keep)
    for (model, tseed, task), keeps in groups.items():
        for i in range(len(keeps)):
            for j in range(i + 1, len(keeps)):
                a, b = keeps[i], keeps[j]
                rows.append(
                    {
                        "model": model,
                        "train_seed": tseed,
                        "task": task,
                        "seeds": f"{i}–{j}",
                        "shared_nodes": int((a & b).sum()),
                        "jaccard": float((a & b).sum() / max(int((a | b).sum()), 1)),
                    }
                )
    cols = ["model", "train_seed", "task", "seeds", "shared_nodes", "jaccard"]
    return pd.DataFrame(rows, columns=cols)


# --- table 8: context dilution of the bracket task on the unpruned models ----------------------


@torch.no_grad()
def dilution_table(family: dict[Key, Trained], lengths, n_pairs: int = 64) -> pd.DataFrame:
    """Bracket task (train templates) with ``n`` elements in the inner list: the full model's
    loss and accuracy as the list grows (an averaging circuit predicts a decline)."""
    rows = []
    L = min(t.model.cfg.seq_len for t in family.values()) - 1
    for n in lengths:
        pairs = tk.make_pairs("bracket", "train", n_pairs, seed=303, max_len=L, n_elems=n)
        ts = tk.task_set(pairs).to(device_of(family))
        for (name, seed), t in family.items():
            logits = t.model(ts.tokens)
            two = tk.answer_logits(logits, ts)
            rows.append(
                {
                    "model": name,
                    "train_seed": seed,
                    "elements": n,
                    "task_loss": float(tk.task_losses(logits, ts).mean()),
                    "accuracy": float((two[:, 0] > two[:, 1]).float().mean()),
                }
            )
    return pd.DataFrame(rows)


# --- table 9: what the nodes of one circuit carry ----------------------------------------------


@torch.no_grad()
def nodes_table(model, keep: torch.Tensor, d: TaskData, means) -> pd.DataFrame:
    """Each kept node of a circuit (everything else ablated) on the held-out pairs: its site,
    head (q/k/v) and the contrast of its last-position activation between the pair's two
    prompts, (mean_a − mean_b) / pooled sd (large |contrast|: the node carries the cause)."""
    index = NodeIndex(model.cfg)
    edit = pr.ablation_edit(index, keep.float(), means)
    seen: dict[tuple[int, str], torch.Tensor] = {}

    def record(layer, loc, x):
        y = edit(layer, loc, x)
        rows = torch.arange(len(d.heldout), device=y.device)
        seen[(layer, loc)] = y[rows, d.heldout.last].cpu()
        return y

    model(d.heldout.tokens, edit=record)
    rows = []
    for i in keep.nonzero().flatten().tolist():
        layer, loc, ch = index.site_of(i)
        x = seen[(layer, loc)][:, ch]
        a, b = x[0::2], x[1::2]
        sd = float(torch.sqrt((a.var() + b.var()) / 2)) if len(a) > 1 else 0.0
        rows.append(
            {
                "node": i,
                "layer": layer,
                "location": loc,
                "channel": ch,
                "head": ch // model.cfg.d_head if loc in ("attn_q", "attn_k", "attn_v") else -1,
                "mean_a": float(a.mean()),
                "mean_b": float(b.mean()),
                "contrast": float(a.mean() - b.mean()) / sd if sd > 0 else 0.0,
            }
        )
    cols = ["node", "layer", "location", "channel", "head", "mean_a", "mean_b", "contrast"]
    return pd.DataFrame(rows, columns=cols)


# --- table 10: a single-channel intervention on the quote circuit ------------------------------


def swap_edit(index: NodeIndex, node: int, base=None):
    """An edit that, after ``base`` (e.g. the circuit's ablation), replaces node ``node``'s
    activation at every position by the other prompt's of the same pair (rows 2i ↔ 2i + 1;
    both prompts of a quote pair have the same length)."""
    layer, loc, ch = index.site_of(node)

    def edit(lay, lo, x):
        y = x if base is None else base(lay, lo, x)
        if (lay, lo) != (layer, loc):
            return y
        twin = torch.arange(y.shape[0], device=y.device) ^ 1
        y = y.clone()
        y[:, :, ch] = y[twin, :, ch]
        return y

    return edit


@torch.no_grad()
def flip_rate(model, ts: TaskSet, edit, cal=pr.IDENTITY) -> float:
    """Share of prompts whose (calibrated) two-way prediction under ``edit`` is the other
    member's answer."""
    two = tk.answers(model, ts, edit, chunk=None)  # the swap pairs rows 2i and 2i + 1
    a, b = cal
    sign = ts.first.to(two.dtype) * 2 - 1
    return float(((a * (two[:, 0] - two[:, 1]) + b * sign) < 0).float().mean())


def intervention(model, keep, found_cal, d: TaskData, means, candidates: list[int]) -> dict:
    """The circuit node whose swap (``swap_edit``) flips the most predictions on the pruning
    pairs, and its flip rates on the held-out pairs in the circuit and in the full model, with
    the rates before any swap (the errors)."""
    index = NodeIndex(model.cfg)
    base = pr.ablation_edit(index, keep.float().to(d.prune.tokens.device), means)
    if not candidates:
        return {}
    rates = {i: flip_rate(model, d.prune, swap_edit(index, i, base), found_cal) for i in candidates}
    best = max(rates, key=lambda i: (rates[i], -i))
    layer, loc, ch = index.site_of(best)
    return {
        "node": best,
        "layer": layer,
        "location": loc,
        "channel": ch,
        "prune_flip": rates[best],
        "circuit_flip": flip_rate(model, d.heldout, swap_edit(index, best, base), found_cal),
        "circuit_error": flip_rate(model, d.heldout, base, found_cal),
        "full_flip": flip_rate(model, d.heldout, swap_edit(index, best)),
        "full_error": flip_rate(model, d.heldout, None),
    }


def intervention_table(spec, family, results, sets, n_candidates: int = 16) -> pd.DataFrame:
    """The swap of one channel on the quote circuit (pruning seed 0) of every sparse model and
    training seed; candidates are the circuit's ``n_candidates`` most contrastive nodes."""
    rows = []
    if "quote" not in sets:
        return pd.DataFrame()
    for job, c in results.items():
        name, tseed, task, ablation, control, method, pseed = job
        t = family.get((name, tseed))
        if (
            task != "quote"
            or c.keep is None
            or (ablation, control, method, pseed) != ("mean", "none", "learned", 0)
            or t.spec.kind != "sparse"
        ):
            continue
        means = means_for(spec, t.model, 0)
        nodes = nodes_table(t.model, c.keep, sets["quote"], means)
        top = nodes.reindex(nodes["contrast"].abs().sort_values(ascending=False).index)
        cal = (c.row["scale"], c.row["shift"])
        res = intervention(
            t.model, c.keep, cal, sets["quote"], means, top["node"].head(n_candidates).tolist()
        )
        if res:
            rows.append({"model": name, "train_seed": tseed, **res})
    return pd.DataFrame(rows)


# --- the driver ------------------------------------------------------------------------------


@dataclass
class Tables:
    """The chapter's tables (see each function) and the pruning results behind them."""

    models: pd.DataFrame
    tasks: pd.DataFrame
    circuits: pd.DataFrame
    ratios: pd.DataFrame
    ratio_summary: pd.DataFrame
    frontier: pd.DataFrame
    methods: pd.DataFrame
    overlap: pd.DataFrame
    dilution: pd.DataFrame
    intervention: pd.DataFrame
    seconds: dict = field(repr=False)
    results: dict = field(repr=False)
    sets: dict = field(repr=False)


def run(
    spec: CircuitsSpec,
    family: dict[Key, Trained],
    progress=True,
    workers: int = 1,
    threads: int = 1,
) -> Tables:
    """Every table of the study for a trained family; ``seconds`` says where the time went."""
    import time

    t0 = time.time()
    sets = task_data(spec, device_of(family))
    models = models_table(family, spec)
    tasks = tasks_table(family, sets, spec.solve_threshold)
    t1 = time.time()
    results = circuits(spec, family, sets, tasks[tasks["solved"]], progress, workers, threads)
    t2 = time.time()
    circ = circuits_table(results)
    ratios = ratio_table(models, circ)
    inter = intervention_table(spec, family, results, sets)
    tables = Tables(
        models,
        tasks,
        circ,
        ratios,
        ratio_summary(ratios),
        frontier_table(models, circ),
        methods_table(circ),
        overlap_table(results),
        dilution_table(family, spec.dilution_lengths)
        if "bracket" in spec.tasks
        else pd.DataFrame(),
        inter,
        {},
        results,
        sets,
    )
    tables.seconds = {"tasks": t1 - t0, "pruning": t2 - t1, "analysis": time.time() - t2}
    return tables


# Display labels, one per column id, in both languages (the pages share one table).
LABELS = {
    "model": "模型 · model",
    "train_seed": "训练种子 · training seed",
    "kind": "类型 · kind",
    "d_model": "宽度 · d_model",
    "n_layers": "层数 · layers",
    "l0_fraction": "L0 比例 · L0 fraction",
    "embed_l0_fraction": "嵌入 L0 比例 · embedding L0",
    "nonzero_params": "非零参数 · nonzero params",
    "total_params": "参数总数 · total params",
    "pretrain_loss": "预训练损失 · pretraining loss",
    "status": "状态 · status",
    "train_seconds": "训练秒数 · training s",
    "task": "任务 · task",
    "prune_task_loss": "剪枝集损失 · pruning-set loss",
    "heldout_task_loss": "留出集损失 · held-out loss",
    "solved": "已解决 · solved",
    "ablation": "消融 · ablation",
    "control": "对照 · control",
    "method": "方法 · method",
    "prune_seed": "剪枝种子 · pruning seed",
    "target_loss": "目标损失 · target",
    "reached": "达到目标 · reached",
    "nodes": "节点 · nodes",
    "edges": "边 · edges",
    "size": "大小 · size",
    "ratio": "稀疏/稠密 · sparse/dense",
    "interval": "95% 区间 · 95% interval",
    "ratio_trimmed": "去离群值 · without outliers",
    "interval_trimmed": "去离群值区间 · interval w/o outliers",
    "outliers": "离群值 · outliers",
    "cells": "单元数 · cells",
    "tasks": "任务数 · tasks",
    "full_task_loss": "完整模型损失 · full-model loss",
    "necessity_loss": "消融电路后损失 · circuit ablated",
    "random_necessity_loss": "消融随机节点后损失 · random ablated",
    "frozen_norm_loss": "冻结归一化 · frozen norms",
    "shared_nodes": "共有节点 · shared nodes",
    "jaccard": "Jaccard",
    "elements": "列表元素数 · list elements",
    "task_loss": "任务损失 · task loss",
    "accuracy": "准确率 · accuracy",
    "layer": "层 · layer",
    "location": "位置 · location",
    "channel": "通道 · channel",
    "head": "头 · head",
    "mean_a": "均值 a · mean a",
    "mean_b": "均值 b · mean b",
    "contrast": "对比度 · contrast",
    "edges_mean_sd": "边 · edges",
    "nodes_mean_sd": "节点 · nodes",
    "loss_mean_sd": "预训练损失 · pretraining loss",
    "nonzero_mean": "非零参数 · nonzero params",
    "solved_tasks": "每个种子都解决的任务 · solved in every seed",
}


def show(table: pd.DataFrame, index: list[str], digits: int = 3) -> pd.DataFrame:
    """A table for the page: indexed, rounded, columns under their display labels."""
    return labelled(table, index, LABELS, digits)
