"""The residual-variants study (the lab's Note 3, book/en/notes.md): the design and its tiers
(screen, learning rate, confirmation, fairness, depth), the per-run measurements, paired
comparisons with the baseline, the published relatives and the claims decided in three words.
The model itself is ``ptlab.models.ResidualLM`` (models/residual.py). Shown in: chapter
*residual*.

What the chapter and users call is re-exported here::

    from ptlab.residual import ResidualSettings, Where, screen, finalists, decide_all
"""

from ptlab.residual.compare import Comparison, compare, pooled_paired_sd
from ptlab.residual.measure import (
    CONNECTIONS,
    MEASURE,
    after_training,
    connection_weights,
    eval_timing,
)
from ptlab.residual.study import (
    LABELS,
    PUBLISHED,
    VERSIONS,
    against_published,
    connection_matrix,
    design,
    matched_label,
    show,
    show_published,
    variant_table,
    version_of,
    with_interval,
)
from ptlab.residual.tiers import (
    FAMILIES,
    ResidualSettings,
    Where,
    choose_lr,
    confirm,
    confirmation_variants,
    depth,
    fairness,
    fairness_steps,
    finalists,
    lr_check,
    power,
    screen,
)
from ptlab.residual.verdicts import (
    CLAIMS,
    claim_lines,
    claims_table,
    comparisons_table,
    decide_all,
    experiment3,
    experiment3_answer,
    headline,
    slope_sentence,
)

__all__ = [
    "CLAIMS",
    "CONNECTIONS",
    "FAMILIES",
    "LABELS",
    "MEASURE",
    "PUBLISHED",
    "VERSIONS",
    "Comparison",
    "ResidualSettings",
    "Where",
    "after_training",
    "against_published",
    "choose_lr",
    "claim_lines",
    "slope_sentence",
    "claims_table",
    "compare",
    "comparisons_table",
    "confirm",
    "confirmation_variants",
    "connection_matrix",
    "matched_label",
    "connection_weights",
    "decide_all",
    "depth",
    "design",
    "eval_timing",
    "experiment3",
    "experiment3_answer",
    "fairness",
    "fairness_steps",
    "finalists",
    "headline",
    "lr_check",
    "pooled_paired_sd",
    "power",
    "screen",
    "show",
    "show_published",
    "variant_table",
    "version_of",
    "with_interval",
]
