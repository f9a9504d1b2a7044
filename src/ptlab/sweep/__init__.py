"""Sweeps over the switches: designs, the results store, and executors (local, Slurm)."""

from ptlab.sweep.designs import DESIGNS, fractional_design, full_design, make_design, random_design
from ptlab.sweep.runner import EXECUTORS, RunSpec, execute_run, plan_runs, run_study, run_sweep
from ptlab.sweep.store import (
    ResultsStore,
    StoreError,
    curves_frame,
    load_results,
    records_frame,
    run_id,
)

__all__ = [
    "DESIGNS",
    "EXECUTORS",
    "ResultsStore",
    "RunSpec",
    "StoreError",
    "execute_run",
    "fractional_design",
    "full_design",
    "load_results",
    "make_design",
    "plan_runs",
    "random_design",
    "records_frame",
    "run_id",
    "run_study",
    "run_sweep",
    "curves_frame",
]
