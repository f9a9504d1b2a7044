"""The residual-variants study (the lab's Note 3, book/en/notes.md): the design, the per-run
measurements, paired comparisons with the baseline, the published relatives and the verdicts.
The model itself is ``ptlab.models.ResidualLM`` (models/residual.py). Shown in: chapter
*residual*.

What the chapter and users call is re-exported here::

    from ptlab.residual import design, MEASURE, variant_table, claims
"""

from ptlab.residual.measure import MEASURE, after_training, connection_weights, eval_timing
from ptlab.residual.study import (
    LABELS,
    PUBLISHED,
    VERSIONS,
    against_published,
    connection_matrix,
    design,
    show,
    show_published,
    variant_table,
    version_of,
)
from ptlab.residual.verdicts import Call, claims

__all__ = [
    "LABELS",
    "MEASURE",
    "PUBLISHED",
    "VERSIONS",
    "Call",
    "after_training",
    "against_published",
    "claims",
    "connection_matrix",
    "connection_weights",
    "design",
    "eval_timing",
    "show",
    "show_published",
    "variant_table",
    "version_of",
]
