"""Analyses of sweep results (pandas DataFrames from ``ptlab.sweep.load_results``)."""

from ptlab.analysis.noise import config_label, seed_noise

__all__ = ["config_label", "seed_noise"]
