"""Head attribution: Integrated Gradients on head gates and the scores it is compared with.

What the chapter and users call is re-exported here::

    from ptlab.attribution import FamilySpec, train_family, eval_set, integrated_gradients
"""

from ptlab.attribution.family import (
    MEMBERS,
    OBJECTIVE,
    FamilySpec,
    band_spec,
    eval_set,
    train_ar,
    train_family,
)
from ptlab.attribution.losses import EvalSet, fixed_noise, loss_at, losses_at_many
from ptlab.attribution.patterns import attention_probabilities, head_patterns, top_heads
from ptlab.attribution.scores import (
    gradients_at,
    gradients_at_ones,
    integrated_gradients,
    leave_one_out,
    michel,
    shapley_exact,
    shapley_sampled,
)
from ptlab.attribution.study import (
    BASELINES,
    LABELS,
    StudySettings,
    Tables,
    across_seeds,
    band_study,
    mean_sd,
    run,
    seed_ci,
    show,
)

__all__ = [
    "BASELINES",
    "LABELS",
    "MEMBERS",
    "OBJECTIVE",
    "EvalSet",
    "FamilySpec",
    "StudySettings",
    "Tables",
    "across_seeds",
    "attention_probabilities",
    "band_spec",
    "band_study",
    "eval_set",
    "fixed_noise",
    "gradients_at",
    "gradients_at_ones",
    "head_patterns",
    "integrated_gradients",
    "leave_one_out",
    "loss_at",
    "losses_at_many",
    "mean_sd",
    "michel",
    "run",
    "seed_ci",
    "shapley_exact",
    "shapley_sampled",
    "show",
    "top_heads",
    "train_ar",
    "train_family",
]
