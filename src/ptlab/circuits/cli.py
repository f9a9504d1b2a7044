"""``ptlab circuits``: train (or reuse) the circuits family, prune every solved task, and write
``models.csv``, ``tasks.csv``, ``circuits.csv`` and one ``state_dict`` file per model and
training seed (``weights/<model>-s<seed>.pt``, '/' in a model name written '_') to
``--out`` (each file atomically: a temporary name, then a rename). Every input is checked before
any work starts; a bad one is one line and exit status 2 (``ptlab.values.InputError``).
Shown in: chapter *circuits* (its "Try" section).
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from ptlab.profiles import DEFAULT_PROFILE, PROFILES
from ptlab.sweep.store import DEFAULT_RESULTS_DIR
from ptlab.values import InputError


def check_inputs(profile: str, tasks: str | None, out: str, results_dir: str):
    """The spec for these inputs, or InputError (unknown profile or task, unusable paths)."""
    from ptlab.circuits.family import CircuitsSpec
    from ptlab.models.config import ConfigError

    if profile not in PROFILES:
        raise InputError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    names = tuple(t for t in (tasks or "").split(",") if t) or None
    try:
        spec = CircuitsSpec.from_profile(profile, tasks=names)
    except ConfigError as e:
        raise InputError(str(e)) from None
    for what, path in (("--out", out), ("--results-dir", results_dir)):
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise InputError(f"{what} {path} exists and is not a directory")
    return spec


def write_outputs(out: Path, tables, family) -> list[Path]:
    """The three CSV files and ``weights/<model>.pt``, each written atomically."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    (out / "weights").mkdir(exist_ok=True)
    written = []
    for name in ("models", "tasks", "circuits"):
        path = out / f"{name}.csv"
        getattr(tables, name).to_csv(path.with_suffix(".tmp"), index=False)
        os.replace(path.with_suffix(".tmp"), path)
        written.append(path)
    for (_, seed), t in family.items():
        path = out / "weights" / f"{t.spec.slug}-s{seed}.pt"
        state = {k: v.cpu() for k, v in t.model.state_dict().items()}
        torch.save(state, path.with_suffix(".tmp"))
        os.replace(path.with_suffix(".tmp"), path)
        written.append(path)
    return written


@click.command()
@click.option(
    "--profile", default=DEFAULT_PROFILE, show_default=True, help=f"One of: {', '.join(PROFILES)}."
)
@click.option("--tasks", default=None, help="Comma-separated task names (default: all).")
@click.option(
    "--results-dir",
    default=DEFAULT_RESULTS_DIR,
    show_default=True,
    help="Trained models are cached in RESULTS_DIR/circuits.",
)
@click.option("--out", required=True, help="Directory for the CSV files and the weights.")
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    help="Processes for training and pruning (0: one per core).",
)
@click.option(
    "--threads", type=int, default=1, show_default=True, help="Torch threads (small models)."
)
def circuits(profile, tasks, results_dir, out, workers, threads) -> None:
    """Weight-sparse vs dense task circuits (Gao et al. 2025) for the chapter *circuits*."""
    spec = check_inputs(profile, tasks, out, results_dir)
    if threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")
    if workers < 0:
        raise InputError(f"--workers must be >= 0, got {workers}")
    import torch

    from ptlab.circuits.family import train_family
    from ptlab.circuits.study import run
    from ptlab.sweep.runner import default_workers

    torch.set_num_threads(threads)
    workers = workers or default_workers()
    family = train_family(spec, Path(results_dir) / "circuits", workers=workers, threads=threads)
    tables = run(spec, family, workers=workers, threads=threads)
    for path in write_outputs(Path(out), tables, family):
        click.echo(path)
