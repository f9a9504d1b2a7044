"""Plan a sweep (design x seeds -> run specs) and execute it locally or on Slurm.

Both executors call the same ``execute_run(spec)``, which claims the run, trains, and writes one
record; so both give the same records and the same resume semantics (finished runs are skipped).
The sweep knows no study: a study that measures more per run names its hook in the spec
(``RunSpec.measure``, e.g. ``ptlab.residual.MEASURE``), as the training loop calls ``after_step``.
"""

from __future__ import annotations

import os
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from ptlab.models import SWITCHES, ModelConfig
from ptlab.models.config import ConfigError
from ptlab.profiles import profile_configs
from ptlab.sweep.designs import pin
from ptlab.sweep.store import ResultsStore, records_frame, run_id
from ptlab.train import TrainConfig

EXECUTORS = ("local", "slurm")


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs; picklable, so it travels to a worker or a Slurm job."""

    study: str
    results_dir: str
    model: dict[str, Any]
    train: dict[str, Any]
    seed: int
    profile: str
    tensorboard_dir: str | None = None
    # "module:function" called after training as f(model, model_cfg, train_cfg) -> dict; its
    # "metrics" entries join the run's metrics and its other keys join the record. A name, not
    # a function, so the spec stays picklable for workers and Slurm jobs.
    measure: str | None = None

    @property
    def run_id(self) -> str:
        return run_id(self.model, self.train, self.seed)


def plan_runs(
    study: str,
    design: list[dict[str, bool]],
    *,
    seeds: int = 1,
    profile: str = "quick",
    overrides: dict[str, Any] | None = None,
    results_dir: str = "results",
    tensorboard_dir: str | None = None,
    section: str | None = None,
    measure: str | None = None,
    first_seed: int = 0,
) -> list[RunSpec]:
    """One spec per (design row, seed); switch names in ``overrides`` pin that switch.

    Seeds are ``first_seed`` … ``first_seed + seeds − 1`` (replicates of runs trained before
    start after their seeds). ``section`` names a study section of the profile (e.g.
    ``residual``: deeper models) that applies before ``overrides``; ``measure`` names the
    study's per-run hook (``RunSpec.measure``).
    """
    if not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--seeds must be a positive integer, got {seeds!r}")
    if not isinstance(first_seed, int) or first_seed < 0:
        raise ConfigError(f"the first seed must be an integer >= 0, got {first_seed!r}")
    overrides = dict(overrides or {})
    base_m, base_t = profile_configs(profile, overrides, study=section)  # validates overrides
    if measure:
        resolve_hook(measure)  # a wrong name fails here, before any run
    fixed = {k: v for k, v in overrides.items() if k in SWITCHES}
    specs = []
    for row in pin(design, fixed):
        m = base_m.replace(**row).to_dict()
        for seed in range(first_seed, first_seed + seeds):
            specs.append(
                RunSpec(
                    study,
                    str(results_dir),
                    m,
                    base_t.to_dict(),
                    seed,
                    profile,
                    tensorboard_dir,
                    measure,
                )
            )
    return specs


def _set_threads(threads: int | None) -> None:
    import torch

    if threads is None:
        env = os.environ.get("SLURM_CPUS_PER_TASK")
        threads = int(env) if env else None
    if threads:
        torch.set_num_threads(threads)


def execute_run(spec: RunSpec, threads: int | None = None) -> str:
    """Claim, train and record one run; returns its status, or ``skipped`` if not ours to do.

    A failure inside training becomes a ``failed`` record with the error; it never raises.
    """
    from ptlab import data
    from ptlab.provenance import provenance
    from ptlab.train import train

    _set_threads(threads)
    store = ResultsStore(spec.results_dir, spec.study)
    rid = spec.run_id
    if not store.claim(rid):
        return "skipped"
    try:
        record: dict[str, Any] = {
            "run_id": rid,
            "study": spec.study,
            "profile": spec.profile,
            "seed": spec.seed,
            "model": spec.model,
            "train": spec.train,
            "measure": spec.measure,
            "error": None,
        }
        tb = str(Path(spec.tensorboard_dir) / spec.study / rid) if spec.tensorboard_dir else None
        try:
            model_cfg, train_cfg = (
                ModelConfig.from_dict(spec.model),
                TrainConfig.from_dict(spec.train),
            )
            hook = resolve_hook(spec.measure) if spec.measure else None
            res = train(
                model_cfg, train_cfg, spec.seed, tensorboard_dir=tb, return_model=hook is not None
            )
            if hook is not None and res["status"] == "ok":
                extra = dict(hook(res["model"], model_cfg, train_cfg))
                res["metrics"].update(extra.pop("metrics", {}))
                record.update(extra)
            record.update(status=res["status"], metrics=res["metrics"], curve=res["curve"])
            device = res["device"]
        except Exception as e:  # recorded, so that one bad config never stops a sweep
            record.update(
                status="failed",
                metrics={},
                curve=[],
                error=f"{type(e).__name__}: {e}",
                traceback=traceback.format_exc(),
            )
            device = spec.train.get("device", "cpu")
        record["provenance"] = provenance(device, data.load_corpus().fingerprint.to_dict())
        record["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        store.write(record)
        return record["status"]
    finally:
        store.release(rid)


def resolve_hook(name: str) -> Callable:
    """The function named ``module:function`` (a ConfigError naming it if it does not exist)."""
    import importlib

    module, _, attr = name.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"measure hook {name!r} not found; expected 'module:function'") from None


def default_workers() -> int:
    """One single-threaded worker per core on the CPU (measured best for small models, bench/)."""
    import torch

    if torch.cuda.is_available():
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _init_worker(threads: int) -> None:
    _set_threads(threads)


def run_local(
    specs: list[RunSpec],
    workers: int | None = None,
    threads: int = 1,
    on_done: Callable[[RunSpec, str], None] | None = None,
) -> Counter:
    """A process pool (spawned workers, ``threads`` torch threads each); returns status counts."""
    counts: Counter = Counter()
    if not specs:
        return counts
    workers = min(workers or default_workers(), len(specs))
    if workers == 1:  # no pool: same process, same code path
        for s in specs:
            st = execute_run(s, threads)
            counts[st] += 1
            if on_done:
                on_done(s, st)
        return counts
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(threads,)
    ) as pool:
        futs = {pool.submit(execute_run, s, threads): s for s in specs}
        for f in as_completed(futs):
            st = f.result()
            counts[st] += 1
            if on_done:
                on_done(futs[f], st)
    return counts


def run_slurm(
    specs: list[RunSpec],
    folder: str,
    cluster: str | None = None,
    slurm_params: dict[str, Any] | None = None,
    on_done: Callable[[RunSpec, str], None] | None = None,
    poll_s: float = 2.0,
) -> Counter:
    """One job-array task per run through submitit's AutoExecutor.

    ``cluster=None`` auto-detects Slurm; ``"local"`` or ``"debug"`` run the same path here.
    ``slurm_params`` go to ``update_parameters`` (e.g. ``slurm_partition``, ``timeout_min``,
    ``gpus_per_node``, ``cpus_per_task``).
    """
    import submitit

    counts: Counter = Counter()
    if not specs:
        return counts
    ex = submitit.AutoExecutor(folder=folder, cluster=cluster)
    params = {"timeout_min": 60, "cpus_per_task": 1, "name": "ptlab"}
    params.update(slurm_params or {})
    ex.update_parameters(**params)
    jobs = ex.map_array(execute_run, specs)
    pending = dict(zip(jobs, specs, strict=True))
    while pending:
        for job in [j for j in pending if j.done()]:
            spec = pending.pop(job)
            try:
                st = job.result()
            except Exception as e:  # the job itself died (node failure, timeout)
                st = f"job-error: {type(e).__name__}"
            counts[st] += 1
            if on_done:
                on_done(spec, st)
        if pending:
            time.sleep(poll_s)
    return counts


def run_sweep(
    specs: list[RunSpec],
    executor: str = "local",
    *,
    workers: int | None = None,
    threads: int = 1,
    progress: bool = True,
    slurm_cluster: str | None = None,
    slurm_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the specs that have no record yet; returns counts of done/reused/skipped/status.

    A run finished by another study under the same results dir is not trained again: its record
    is copied (``ResultsStore.adopt``) and counted as ``reused``.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; allowed: {', '.join(EXECUTORS)}")
    if not specs:
        return {"planned": 0, "already_done": 0, "reused": 0, "counts": {}}
    store = ResultsStore(specs[0].results_dir, specs[0].study)
    missing = [s for s in specs if not store.exists(s.run_id)]
    todo = [s for s in missing if not store.adopt(s.run_id, s.profile, s.measure)]
    bar = None
    if progress and todo:
        from ptlab.progress import progress_bar

        bar = progress_bar(total=len(todo), desc=f"sweep {specs[0].study}", unit="run")
    seen: Counter = Counter()

    def on_done(spec: RunSpec, status: str) -> None:
        seen[status] += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(dict(seen))

    try:
        if executor == "local":
            counts = run_local(todo, workers, threads, on_done)
        else:
            folder = str(Path(specs[0].results_dir) / specs[0].study / "slurm" / "%j")
            counts = run_slurm(todo, folder, slurm_cluster, slurm_params, on_done)
    finally:
        if bar is not None:
            bar.close()
    return {
        "planned": len(specs),
        "already_done": len(specs) - len(missing),
        "reused": len(missing) - len(todo),
        "counts": dict(counts),
    }


def run_study(
    study: str,
    design: list[dict[str, bool]],
    *,
    seeds: int = 1,
    profile: str = "quick",
    overrides: dict[str, Any] | None = None,
    results_dir: str = "results",
    workers: int | None = None,
    progress: bool = True,
    section: str | None = None,
    measure: str | None = None,
    first_seed: int = 0,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Plan, run what is missing, and return (runs DataFrame, records) for exactly these runs.

    What chapters call: records of other profiles or designs in the same study are left out.
    ``section``, ``measure`` and ``first_seed`` as in ``plan_runs``.
    """
    specs = plan_runs(
        study,
        design,
        seeds=seeds,
        profile=profile,
        overrides=overrides,
        results_dir=results_dir,
        section=section,
        measure=measure,
        first_seed=first_seed,
    )
    run_sweep(specs, "local", workers=workers, progress=progress)
    store = ResultsStore(results_dir, study)
    recs = [store.read(s.run_id) for s in specs if store.exists(s.run_id)]
    return records_frame(recs), recs


__all__ = [
    "EXECUTORS",
    "RunSpec",
    "execute_run",
    "plan_runs",
    "run_local",
    "run_slurm",
    "run_sweep",
]
