"""Analyses of sweep results (pandas DataFrames from ``ptlab.sweep.load_results``).

``table`` validates the input, ``surrogate`` is the XGBoost + SHAP method of the lab's Note 1,
``interactions`` the pair and triple scans, ``variance`` the spread question, ``effects`` the
exact factorial effects, and ``pipeline`` runs them all for ``ptlab analyze`` and the chapters.
"""

from ptlab.analysis.noise import config_label, seed_noise
from ptlab.analysis.pipeline import Analysis, analyze, write_tables
from ptlab.analysis.table import AnalysisInputError, SwitchTable, load_switch_table, prepare

__all__ = [
    "Analysis",
    "AnalysisInputError",
    "SwitchTable",
    "analyze",
    "config_label",
    "load_switch_table",
    "prepare",
    "seed_noise",
    "write_tables",
]
