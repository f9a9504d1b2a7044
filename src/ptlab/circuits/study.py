"""The circuits study: the trained family → its tables, one function per table, each returning a
DataFrame with snake_case column ids (display labels in ``show``). ``run`` drives them.
Shown in: chapter *circuits*.

Protocol (decisions; the brief's §4 and §6):

* Tasks: ``n_prune_pairs`` train-split pairs (masks learn on them and the bisection meets the
  target on them) and ``n_heldout_pairs`` held-out pairs (unseen templates and names). A task is
  *solved* by a model when the full model's held-out loss is below ``solve_threshold``; only
  solved tasks are pruned, the others are reported in ``tasks``.
* Per solved (model, task): mean ablation with ``prune_seeds`` mask-learning seeds, zero
  ablation with one. Each circuit row reports its nodes and edges, its held-out loss alone
  (sufficiency), the full model's held-out loss, the held-out loss with only the circuit
  ablated (necessity) and the mean over ``n_random`` sets of as many random non-circuit nodes.
* Controls, on the sparsest sparse model (``control_model``) and each task it solves: the same
  pruning of its random-initialisation twin (``family.random_init``) and of the trained model
  on the task with shuffled labels (held-out labels shuffled too). One model, for time.
* Matched pretraining loss: for a sparse model at loss L, the dense edge count at L is
  interpolated linearly in (L, log edges) between the two dense models whose losses bracket
  L; outside the dense range the nearest dense model is used and the row says so. The ratio
  is computed per pruning seed; the table gives its geometric mean and range over seeds.
"""

from __future__ import annotations

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

CONTROLS = ("none", "random_init", "shuffled")


@dataclass
class TaskData:
    """One task's pruning (train split) and held-out pairs, and their shuffled-label twins."""

    prune: TaskSet
    heldout: TaskSet

    def shuffled(self, seed: int) -> TaskData:
        return TaskData(
            tk.shuffled_labels(self.prune, seed), tk.shuffled_labels(self.heldout, seed + 1)
        )


def task_data(spec: CircuitsSpec, device="cpu") -> dict[str, TaskData]:
    L = spec.model.seq_len - 1  # BOS + prompt fit in one window
    return {
        t: TaskData(
            tk.task_set(tk.make_pairs(t, "train", spec.n_prune_pairs, seed=101, max_len=L)).to(
                device
            ),
            tk.task_set(tk.make_pairs(t, "heldout", spec.n_heldout_pairs, seed=202, max_len=L)).to(
                device
            ),
        )
        for t in spec.tasks
    }


def device_of(family: dict[str, Trained]) -> torch.device:
    return next(next(iter(family.values())).model.parameters()).device


def means_for(spec: CircuitsSpec, model, seed: int = 0) -> dict:
    """Node means over ``mean_batches`` windows of the pretraining mixture."""
    stream = tk.pretraining_stream(spec.mix_fraction, seed)
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


def models_table(family: dict[str, Trained], spec: CircuitsSpec) -> pd.DataFrame:
    rows = [
        {
            "model": name,
            "kind": t.spec.kind,
            "d_model": t.spec.d_model,
            "n_layers": spec.model.n_layers,
            "l0_fraction": t.spec.l0,
            "nonzero_params": nonzero_params(t.model),
            "total_params": total_params(t.model),
            "pretrain_loss": t.pretrain_loss,
            "embed_l0_fraction": spec.embed_l0(t.spec),
            "status": t.status,
        }
        for name, t in family.items()
    ]
    return pd.DataFrame(rows)


# --- table 2: does the full model solve each task? ---------------------------------------------


@torch.no_grad()
def tasks_table(family: dict[str, Trained], sets: dict[str, TaskData], threshold: float):
    rows = []
    for name, t in family.items():
        for task, d in sets.items():
            held = float(task_loss(t.model, d.heldout))
            rows.append(
                {
                    "model": name,
                    "task": task,
                    "prune_task_loss": float(task_loss(t.model, d.prune)),
                    "heldout_task_loss": held,
                    "solved": held < threshold,
                }
            )
    return pd.DataFrame(rows)


# --- table 3: circuits -------------------------------------------------------------------------


@dataclass
class Circuit:
    """One pruning result: its row of ``circuits`` and the kept node mask (None: not found)."""

    row: dict
    keep: torch.Tensor | None = field(default=None, repr=False)


def random_keep(n: int, circuit: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """All nodes but a random set of |circuit| nodes drawn from outside the circuit."""
    outside = (
        torch.flatnonzero(~circuit)
        if hasattr(torch, "flatnonzero")
        else ((~circuit).nonzero().flatten())
    )
    drop = outside[torch.randperm(len(outside), generator=gen)[: int(circuit.sum())]]
    keep = torch.ones(n, dtype=torch.bool)
    keep[drop] = False
    return keep


def validate(model, keep, d: TaskData, means, n_random: int, seed: int) -> dict:
    """Sufficiency, necessity and the random-ablation comparison on the held-out pairs."""
    gen = torch.Generator().manual_seed(seed)
    n = len(keep)
    rand = [
        pr.loss_keeping(model, d.heldout, means, random_keep(n, keep, gen)) for _ in range(n_random)
    ]
    return {
        "heldout_task_loss": pr.loss_keeping(model, d.heldout, means, keep),
        "necessity_loss": pr.loss_keeping(model, d.heldout, means, ~keep),
        "random_necessity_loss": float(np.mean(rand)),
    }


def prune_one(model, d: TaskData, means, spec: CircuitsSpec, ablation: str, seed: int) -> Circuit:
    """Learn the masks, bisect for the circuit, validate it; ``reached`` False if the whole
    model misses the target on the pruning pairs."""
    cfg = spec.prune
    if ablation == "zero":
        means = pr.zero_means(means)
    scores = pr.learn_scores(model, d.prune, means, cfg, seed)
    keep = pr.circuit(model, d.prune, means, scores, cfg.target)
    with torch.no_grad():
        row = {
            "ablation": ablation,
            "prune_seed": seed,
            "target_loss": cfg.target,
            "full_task_loss": float(task_loss(model, d.heldout)),
        }
    if keep is None:
        return Circuit({**row, "reached": False, "nodes": np.nan, "edges": np.nan})
    row |= {"reached": True, "nodes": int(keep.sum()), "edges": count_edges(model, keep)}
    return Circuit(row | validate(model, keep, d, means, spec.n_random, seed), keep)


def control_model(family: dict[str, Trained]) -> str | None:
    """The sparse model with the lowest L0 (the widest among ties): the controls run on it."""
    sparse = [t.spec for t in family.values() if t.spec.kind == "sparse"]
    return min(sparse, key=lambda m: (m.l0, -m.d_model)).name if sparse else None


def circuit_jobs(spec: CircuitsSpec, family, solved: pd.DataFrame) -> list[tuple]:
    """(model name, task, ablation, control, seed) of every pruning run the study does."""
    jobs = []
    ctrl = control_model(family)
    for name, task in solved[["model", "task"]].itertuples(index=False):
        jobs += [(name, task, "mean", "none", s) for s in range(spec.prune_seeds)]
        jobs.append((name, task, "zero", "none", 0))
        if name == ctrl:
            jobs += [(name, task, "mean", c, 0) for c in CONTROLS[1:]]
    return jobs


def circuits(spec, family, sets, solved, seed: int = 0, progress=True) -> dict[tuple, Circuit]:
    """Every pruning run: {(model, task, ablation, control, seed): Circuit}."""
    means = {name: means_for(spec, t.model, seed) for name, t in family.items()}
    twins: dict[str, tuple] = {}
    out = {}
    for job in progress_bar(circuit_jobs(spec, family, solved), desc="prune", disable=not progress):
        name, task, ablation, control, s = job
        model, m, d = family[name].model, means[name], sets[task]
        if control == "random_init":
            if name not in twins:  # the untrained twin and its own node means, made once
                twin = random_init(spec, family[name].spec, seed + 1)
                twins[name] = (twin.model, means_for(spec, twin.model, seed))
            model, m = twins[name]
        elif control == "shuffled":
            d = d.shuffled(seed + 7)
        c = prune_one(model, d, m, spec, ablation, s)
        c.row = {"model": name, "task": task, "control": control, **c.row}
        out[job] = c
    return out


def circuits_table(results: dict[tuple, Circuit]) -> pd.DataFrame:
    cols = [
        "model",
        "task",
        "ablation",
        "control",
        "prune_seed",
        "target_loss",
        "reached",
        "nodes",
        "edges",
        "heldout_task_loss",
        "full_task_loss",
        "necessity_loss",
        "random_necessity_loss",
    ]
    return pd.DataFrame([c.row for c in results.values()]).reindex(columns=cols)


# --- table 4: the edge ratio sparse / dense at matched pretraining loss ------------------------


def matched_dense(points: pd.DataFrame, loss: float) -> tuple[float, str, float]:
    """Dense edges at pretraining ``loss`` from ``points`` (columns pretrain_loss, edges):
    linear in (loss, log edges) between the two bracketing models, else the nearest model.
    Returns (edges, how, loss gap to the model used: 0 when interpolated)."""
    p = points.sort_values("pretrain_loss")
    x, y = p["pretrain_loss"].to_numpy(), np.log(p["edges"].to_numpy(dtype=float))
    if len(x) == 0:
        return np.nan, "none", np.nan
    if x[0] <= loss <= x[-1] and len(x) > 1:
        return float(np.exp(np.interp(loss, x, y))), "interpolated", 0.0
    i = int(np.argmin(np.abs(x - loss)))
    return float(np.exp(y[i])), "nearest", float(loss - x[i])


def ratio_table(models: pd.DataFrame, circ: pd.DataFrame) -> pd.DataFrame:
    """Per sparse model and task: its edges, the dense edges at its pretraining loss, and the
    ratio, per pruning seed (mean ablation, no control, circuits that reached the target with at
    least one edge: a circuit of no edges, possible only under a loose target, has no ratio).
    ``loss_gap`` is the sparse model's pretraining loss minus the matched dense one's."""
    c = circ[(circ["control"] == "none") & (circ["ablation"] == "mean") & circ["reached"]]
    c = c[c["edges"] > 0].merge(models[["model", "kind", "pretrain_loss"]], on="model")
    rows = []
    for (task, seed), g in c.groupby(["task", "prune_seed"]):
        dense = g[g["kind"] == "dense"]
        for r in g[g["kind"] == "sparse"].itertuples():
            edges, how, gap = matched_dense(dense, r.pretrain_loss)
            rows.append(
                {
                    "model": r.model,
                    "task": task,
                    "prune_seed": seed,
                    "pretrain_loss": r.pretrain_loss,
                    "sparse_edges": r.edges,
                    "dense_edges": edges,
                    "ratio": r.edges / edges,
                    "match": how,
                    "loss_gap": gap,
                }
            )
    cols = [
        "model",
        "task",
        "prune_seed",
        "pretrain_loss",
        "sparse_edges",
        "dense_edges",
        "ratio",
        "match",
        "loss_gap",
    ]
    return pd.DataFrame(rows, columns=cols)


def geomean(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.exp(np.log(x).mean())) if len(x) else np.nan


def ratio_summary(ratios: pd.DataFrame) -> pd.DataFrame:
    """Per sparse model and task (and ``all``: the geometric mean over tasks, per seed): the
    geometric-mean ratio over seeds and its range."""
    rows = []
    per_seed_all = ratios.groupby(["model", "prune_seed"])["ratio"].apply(geomean).reset_index()
    for model, g in ratios.groupby("model"):
        for task, h in g.groupby("task"):
            rows.append(
                {
                    "model": model,
                    "task": task,
                    "ratio": geomean(h["ratio"]),
                    "ratio_min": h["ratio"].min(),
                    "ratio_max": h["ratio"].max(),
                    "seeds": len(h),
                    "match": "/".join(sorted(set(h["match"]))),
                    "loss_gap": float(h["loss_gap"].abs().max()),
                }
            )
        a = per_seed_all[per_seed_all["model"] == model]["ratio"]
        rows.append(
            {
                "model": model,
                "task": "all",
                "ratio": geomean(a),
                "ratio_min": a.min(),
                "ratio_max": a.max(),
                "seeds": len(a),
                "match": "",
                "loss_gap": float(g["loss_gap"].abs().max()),
            }
        )
    cols = ["model", "task", "ratio", "ratio_min", "ratio_max", "seeds", "match", "loss_gap"]
    return pd.DataFrame(rows, columns=cols)


# --- table 5: node overlap across pruning seeds ------------------------------------------------


def overlap_table(results: dict[tuple, Circuit]) -> pd.DataFrame:
    """Jaccard |A ∩ B| / |A ∪ B| of the node sets of two pruning seeds (mean ablation)."""
    rows = []
    groups: dict[tuple, list[torch.Tensor]] = {}
    for (model, task, ablation, control, _), c in results.items():
        if ablation == "mean" and control == "none" and c.keep is not None:
            groups.setdefault((model, task), []).append(c.keep)
    for (model, task), keeps in groups.items():
        for i in range(len(keeps)):
            for j in range(i + 1, len(keeps)):
                a, b = keeps[i], keeps[j]
                rows.append(
                    {
                        "model": model,
                        "task": task,
                        "seeds": f"{i}–{j}",
                        "shared_nodes": int((a & b).sum()),
                        "jaccard": float((a & b).sum() / (a | b).sum()),
                    }
                )
    return pd.DataFrame(rows, columns=["model", "task", "seeds", "shared_nodes", "jaccard"])


# --- table 6: context dilution of the bracket task on the unpruned models ----------------------


@torch.no_grad()
def dilution_table(family: dict[str, Trained], lengths, n_pairs: int = 64) -> pd.DataFrame:
    """Bracket task (train templates) with ``n`` elements in the inner list: the full model's
    loss and accuracy as the list grows (an averaging circuit predicts a decline)."""
    rows = []
    for n in lengths:
        L = min(t.model.cfg.seq_len for t in family.values()) - 1
        pairs = tk.make_pairs("bracket", "train", n_pairs, seed=303, max_len=L, n_elems=n)
        ts = tk.task_set(pairs).to(device_of(family))
        for name, t in family.items():
            logits = t.model(ts.tokens)
            two = tk.answer_logits(logits, ts)
            rows.append(
                {
                    "model": name,
                    "elements": n,
                    "task_loss": float(tk.task_losses(logits, ts).mean()),
                    "accuracy": float((two[:, 0] > two[:, 1]).float().mean()),
                }
            )
    return pd.DataFrame(rows)


# --- table 7: what the nodes of one circuit carry ----------------------------------------------


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
                "layer": layer,
                "location": loc,
                "channel": ch,
                "head": ch // model.cfg.d_head if loc in ("attn_q", "attn_k", "attn_v") else -1,
                "mean_a": float(a.mean()),
                "mean_b": float(b.mean()),
                "contrast": float(a.mean() - b.mean()) / sd if sd > 0 else 0.0,
            }
        )
    cols = ["layer", "location", "channel", "head", "mean_a", "mean_b", "contrast"]
    return pd.DataFrame(rows, columns=cols)


# --- the driver ------------------------------------------------------------------------------


@dataclass
class Tables:
    """The chapter's tables (see each function) and the pruning results behind them."""

    models: pd.DataFrame
    tasks: pd.DataFrame
    circuits: pd.DataFrame
    ratios: pd.DataFrame
    ratio_summary: pd.DataFrame
    overlap: pd.DataFrame
    dilution: pd.DataFrame
    results: dict = field(repr=False)
    sets: dict = field(repr=False)


def run(spec: CircuitsSpec, family: dict[str, Trained], progress=True) -> Tables:
    """Every table of the study for a trained family."""
    sets = task_data(spec, device_of(family))
    models = models_table(family, spec)
    tasks = tasks_table(family, sets, spec.solve_threshold)
    results = circuits(spec, family, sets, tasks[tasks["solved"]], progress=progress)
    circ = circuits_table(results)
    ratios = ratio_table(models, circ)
    return Tables(
        models,
        tasks,
        circ,
        ratios,
        ratio_summary(ratios),
        overlap_table(results),
        dilution_table(family, spec.dilution_lengths),
        results,
        sets,
    )


# Display labels, one per column id, in both languages (the pages share one table).
LABELS = {
    "model": "模型 · model",
    "kind": "类型 · kind",
    "d_model": "宽度 · d_model",
    "n_layers": "层数 · layers",
    "l0_fraction": "L0 比例 · L0 fraction",
    "embed_l0_fraction": "嵌入 L0 比例 · embedding L0",
    "nonzero_params": "非零参数 · nonzero params",
    "total_params": "参数总数 · total params",
    "pretrain_loss": "预训练损失 · pretraining loss",
    "status": "状态 · status",
    "task": "任务 · task",
    "prune_task_loss": "剪枝集损失 · pruning-set loss",
    "heldout_task_loss": "留出集损失 · held-out loss",
    "solved": "已解决 · solved",
    "ablation": "消融 · ablation",
    "control": "对照 · control",
    "prune_seed": "剪枝种子 · pruning seed",
    "target_loss": "目标损失 · target",
    "reached": "达到目标 · reached",
    "nodes": "节点 · nodes",
    "edges": "边 · edges",
    "full_task_loss": "完整模型损失 · full-model loss",
    "necessity_loss": "消融电路后损失 · circuit ablated",
    "random_necessity_loss": "消融随机节点后损失 · random ablated",
    "sparse_edges": "稀疏模型边数 · sparse edges",
    "dense_edges": "稠密模型边数（匹配损失）· dense edges (matched)",
    "ratio": "边数比 稀疏/稠密 · edge ratio sparse/dense",
    "ratio_min": "最小 · min",
    "ratio_max": "最大 · max",
    "seeds": "种子数 · seeds",
    "match": "匹配方式 · match",
    "loss_gap": "与匹配模型的损失差 · loss gap to match",
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
}


def show(table: pd.DataFrame, index: list[str], digits: int = 3) -> pd.DataFrame:
    """A table for the page: indexed, rounded, columns under their display labels."""
    return labelled(table, index, LABELS, digits)
