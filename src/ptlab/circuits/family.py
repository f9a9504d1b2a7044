"""The models of the circuits study: dense baselines of several widths and weight-sparse models
at several L0 fractions, all trained through ``ptlab.train.optimise`` (the one loop) with the
same optimiser settings; the sparse ones add the top-k projection as its ``after_step`` hook.
Shown in: chapter *circuits*.

Every default comes from the profile's ``circuits`` section (``ptlab.profiles``). Trained
weights are cached under ``RESULTS_DIR/circuits`` keyed by a hash of everything that shapes
them (sizes, training settings, L0 targets, the pretraining mixture, the task generators'
version, the seed), so rerunning with other pruning settings does not retrain.

Decisions:

* Nonzero budget (Gao et al.'s convention): relative to a base width d₀ (``base_width``), a
  sparse model of width d has expansion factor EF = d/d₀; its hidden matrices keep the L0
  fraction ``l0`` and its embeddings, unembedding and biases the fraction min(1, EF·l0), i.e.
  EF× denser, as in the paper.
* Every hidden-matrix unit keeps at least ``floor`` weights (the paper's j = 4). At the widths a
  CPU affords, j = 4 fixes the whole budget once L0 = 4/d (1/32 at d = 128): every unit would
  keep exactly its floor and the global top-k would choose nothing, so the quick profile uses
  j = 1 (no unit is cut off) and the full profile the paper's 4.
* Every model is trained with ``train_seeds`` seeds (0, 1, …): the seed fixes its
  initialisation and the order of its batches. The family is a dict keyed by (name, seed).
* Dense baselines are the same architecture and optimiser, without the projection. Their base
  learning rate is ``train.lr``; the sparse models' is ``sparse_lr`` (the paper sweeps it per
  experiment and finds that sparser models want a larger one; at 2000 steps here the d = 128
  model at L0 1/32 reached a pretraining loss of 2.13 with 2e-2 against 2.19 with 1e-2, while
  a dense d = 32 model learned the quote task with 1e-2 and not with 2e-2).
* The random-initialisation control is a model of the same spec, never trained, with the
  projection at its final L0 applied once, so it has the same weight sparsity.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ptlab import data
from ptlab.circuits.model import CircuitConfig, CircuitModel
from ptlab.circuits.prune import PruneConfig
from ptlab.circuits.sparse import Sparsifier
from ptlab.circuits.tasks import TASKS, TASKS_VERSION, check_tasks, pretraining_stream
from ptlab.models.config import ConfigError
from ptlab.profiles import PROFILES, study_section
from ptlab.train import TrainConfig, evaluate, optimise, resolve_device

KINDS = ("dense", "sparse")


def slug(name: str) -> str:
    return name.replace("/", "_")


@dataclass(frozen=True)
class ModelSpec:
    """One model of the family: its kind, width and (sparse) target L0 of hidden matrices."""

    kind: str
    d_model: int
    l0: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"model kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not 0 < self.l0 <= 1 or (self.kind == "dense") != (self.l0 == 1):
            raise ConfigError(f"l0 must be 1 for dense and in (0, 1) for sparse, got {self.l0}")

    @property
    def name(self) -> str:
        if self.kind == "dense":
            return f"dense-d{self.d_model}"
        inv = 1 / self.l0
        l0 = f"1/{round(inv)}" if abs(inv - round(inv)) < 1e-9 else f"{self.l0:g}"
        return f"sparse-d{self.d_model}-l0={l0}"

    @property
    def slug(self) -> str:
        """The name as a file name ('/' → '_')."""
        return slug(self.name)


@dataclass(frozen=True)
class CircuitsSpec:
    """Everything the study runs: the family, its training, the tasks and the pruning."""

    model: CircuitConfig  # shared sizes; each ModelSpec sets d_model
    train: TrainConfig
    models: tuple[ModelSpec, ...]
    base_width: int
    floor: int  # weights each unit of a sparse hidden matrix keeps (the paper's j = 4)
    sparse_lr: float  # base learning rate of the sparse models (the dense ones: train.lr)
    train_seeds: int  # training seeds per model (0, 1, …)
    mix_fraction: float  # generated task documents, as a fraction of the stdlib's bytes
    tasks: tuple[str, ...]
    prune: PruneConfig
    n_prune_pairs: int  # train-split pairs the masks learn on
    n_heldout_pairs: int  # held-out pairs for sufficiency and necessity
    prune_seeds: int
    solve_threshold: float  # a task is solved when the full model's pruning-pair loss is below
    sufficiency_margin: float  # nats a circuit's held-out loss may exceed the full model's
    n_random: int  # random node sets for the necessity comparison
    zero_ablation: bool  # also prune the control model under zero ablation (Gao et al. 2025, §4)
    mean_batches: int  # pretraining windows (batches of train.batch_size) for the node means
    dilution_lengths: tuple[int, ...]

    @classmethod
    def from_profile(cls, profile: str = "quick", **overrides: Any) -> CircuitsSpec:
        """The profile's ``circuits`` section with ``overrides``, one rule for all of them:
        None keeps the profile's value; a name is a field of this spec (or ``tasks``) or of
        CircuitConfig, TrainConfig or PruneConfig, written ``model_<field>``,
        ``train_<field>`` or ``prune_<field>`` or bare when only one of them has it (``steps``
        is in two, so ``train_steps`` / ``prune_steps``)."""
        sec = study_section(profile, "circuits")
        given = {k: v for k, v in overrides.items() if v is not None}
        parts: dict[str, dict] = {
            "model": dict(sec["model"]),
            "train": {**PROFILES[profile]["train"], **sec["train"]},
            "prune": dict(sec["prune"]),
        }
        own = {k: sec[k] for k in sec if k not in parts}
        own.setdefault("tasks", tuple(TASKS))
        classes = {"model": CircuitConfig, "train": TrainConfig, "prune": PruneConfig}
        for key, value in given.items():
            if key in own:
                own[key] = value
                continue
            part, _, field = key.partition("_")
            if part in classes and field in classes[part].__dataclass_fields__:
                parts[part][field] = value
                continue
            where = [p for p, c in classes.items() if key in c.__dataclass_fields__]
            if len(where) > 1:
                raise ConfigError(
                    f"circuits parameter {key!r} is a field of {' and '.join(where)}; write "
                    + " or ".join(f"{p}_{key}" for p in where)
                )
            if not where:
                raise ConfigError(f"unknown circuits parameter {key!r}")
            parts[where[0]][key] = value
        try:
            tasks = check_tasks(own.pop("tasks"))
        except ValueError as e:
            raise ConfigError(str(e)) from None
        models = tuple(ModelSpec(*m) for m in own.pop("models"))
        if not own["sparse_lr"] > 0:
            raise ConfigError(f"sparse_lr must be positive, got {own['sparse_lr']!r}")
        for name in ("floor", "train_seeds"):
            v = own[name]
            if not isinstance(v, int) or isinstance(v, bool) or v < (0 if name == "floor" else 1):
                raise ConfigError(f"{name} must be an integer >= 1 (floor: >= 0), got {v!r}")
        return cls(
            model=CircuitConfig(**parts["model"]),
            train=TrainConfig(**parts["train"]),
            prune=PruneConfig(**parts["prune"]),
            models=models,
            tasks=tasks,
            **own,
        )

    def config(self, m: ModelSpec) -> CircuitConfig:
        return self.model.replace(d_model=m.d_model)

    def train_for(self, m: ModelSpec) -> TrainConfig:
        """The training settings of one model: sparse models use ``sparse_lr``."""
        return self.train if m.kind == "dense" else self.train.replace(lr=self.sparse_lr)

    def embed_l0(self, m: ModelSpec) -> float:
        """min(1, EF·l0) with EF = d / base_width for a sparse model; 1 for a dense one."""
        if m.kind == "dense":
            return 1.0
        return min(1.0, m.l0 * m.d_model / self.base_width)

    def key(self, m: ModelSpec, seed: int) -> str:
        blob = json.dumps(
            {
                "model": self.config(m).to_dict(),
                "train": self.train_for(m).to_dict(),
                "l0": m.l0,
                "embed_l0": self.embed_l0(m),
                "mix": self.mix_fraction,
                "mix_tasks": list(self.tasks),
                "floor": self.floor if m.kind == "sparse" else None,
                "tasks_version": TASKS_VERSION,
                "seed": seed,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Trained:
    """A model of the family, in eval mode on the training device (``train.device``: the
    CPU here, CUDA where there is one), with its pretraining loss."""

    spec: ModelSpec
    model: CircuitModel
    pretrain_loss: float
    status: str = "ok"
    seed: int = 0
    train_seconds: float = float("nan")  # time inside training steps (nan: not recorded)


def sparsifier(spec: CircuitsSpec, m: ModelSpec, model: CircuitModel) -> Sparsifier | None:
    if m.kind == "dense":
        return None
    return Sparsifier(
        spec.train.steps, m.l0, spec.embed_l0(m), model.sparse_targets(), floor=spec.floor
    )


def pretrain_evals(spec: CircuitsSpec) -> list[torch.Tensor]:
    """The fixed validation windows of the stdlib (natural code only: the pretraining loss)."""
    t = spec.train
    return data.eval_batches(
        data.load_corpus().tokens("val"),
        n_batches=t.eval_batches,
        batch_size=t.eval_batch_size,
        seq_len=spec.model.seq_len,
    )


def train_one(spec: CircuitsSpec, m: ModelSpec, seed: int, bar=None) -> Trained:
    """Build under ``torch.manual_seed(seed)`` and train through ``optimise`` on the mixture."""
    torch.manual_seed(seed)
    model = CircuitModel(spec.config(m)).to(resolve_device(spec.train.device))
    hook = sparsifier(spec, m, model)
    run = optimise(
        model,
        spec.train_for(m),
        seed,
        evals=pretrain_evals(spec),
        after_step=hook,
        lr_scale=hook.lr_factor if hook else None,
        stream=pretraining_stream(spec.mix_fraction, seed, spec.tasks),
        bar=bar,
    )
    loss = run.curve[-1]["eval_loss"] if run.curve else math.nan
    return Trained(m, model.eval(), loss, run.status, seed, run.train_time)


Key = tuple[str, int]  # (model name, training seed)


def train_family(
    spec: CircuitsSpec,
    cache_dir: str | Path | None = None,
    progress=True,
    workers: int = 1,
    threads: int = 1,
) -> dict[Key, Trained]:
    """{(model name, seed): Trained} for every model and training seed, each read from
    ``cache_dir`` if there, else trained (in ``workers`` spawned processes of ``threads`` torch
    threads when > 1) and cached."""
    from ptlab.progress import progress_bar

    jobs = [(m, s) for s in range(spec.train_seeds) for m in spec.models]
    todo = [(m, s) for m, s in jobs if not _cached(spec, m, s, cache_dir)]
    todo.sort(key=lambda j: -j[0].d_model)  # widest first: the pool finishes together
    bar = progress_bar(total=len(todo) * spec.train.steps, desc="pretrain", disable=not progress)
    done: dict[Key, Trained] = {}
    if workers > 1 and len(todo) > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from multiprocessing import get_context

        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=get_context("spawn")) as pool:
            futs = {pool.submit(_train_state, spec, m, s, threads): (m, s) for m, s in todo}
            for f in as_completed(futs):
                m, s = futs[f]
                done[(m.name, s)] = _from_state(spec, m, s, f.result())
                bar.update(spec.train.steps)
    else:
        for m, s in todo:
            done[(m.name, s)] = train_one(spec, m, s, bar)
    bar.close()
    out: dict[Key, Trained] = {}
    for m, s in jobs:
        path = _cached(spec, m, s, cache_dir)
        if (m.name, s) in done:
            out[(m.name, s)] = t = done[(m.name, s)]
            if cache_dir is not None:
                _save(t, _path(spec, m, s, cache_dir))
        else:
            out[(m.name, s)] = _load(spec, m, s, path)
    return out


def _train_state(spec: CircuitsSpec, m: ModelSpec, seed: int, threads: int) -> dict:
    """In a worker process: train one model and return what ``_from_state`` needs."""
    torch.set_num_threads(threads)
    t = train_one(spec, m, seed)
    return _blob(t)


def _blob(t: Trained) -> dict:
    return {
        "state": {k: v.cpu() for k, v in t.model.state_dict().items()},
        "pretrain_loss": t.pretrain_loss,
        "status": t.status,
        "train_seconds": t.train_seconds,
    }


def _from_state(spec: CircuitsSpec, m: ModelSpec, seed: int, blob: dict) -> Trained:
    model = CircuitModel(spec.config(m))
    model.load_state_dict(blob["state"])
    model.to(resolve_device(spec.train.device))
    return Trained(
        m,
        model.eval(),
        float(blob["pretrain_loss"]),
        blob["status"],
        seed,
        float(blob.get("train_seconds", math.nan)),
    )


def _path(spec, m, seed, cache_dir) -> Path:
    return Path(cache_dir) / f"{m.slug}-s{seed}-{spec.key(m, seed)}.pt"


def _cached(spec, m, seed, cache_dir) -> Path | None:
    if cache_dir is None:
        return None
    path = _path(spec, m, seed, cache_dir)
    return path if path.exists() else None


def _save(t: Trained, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(_blob(t), tmp)
    tmp.replace(path)


def _load(spec: CircuitsSpec, m: ModelSpec, seed: int, path: Path) -> Trained:
    return _from_state(spec, m, seed, torch.load(path, weights_only=True))


def random_init(spec: CircuitsSpec, m: ModelSpec, seed: int) -> Trained:
    """The control: the spec's model at initialisation (seed), projected once to its final L0;
    its pretraining loss is evaluated like the others'."""
    torch.manual_seed(seed)
    model = CircuitModel(spec.config(m)).to(resolve_device(spec.train.device))
    hook = sparsifier(spec, m, model)
    if hook is not None:
        hook(model, spec.train.steps - 1)
    loss, _ = evaluate(model.eval(), pretrain_evals(spec))
    return Trained(m, model, loss, seed=seed)
