"""Head attribution: Integrated Gradients on head gates and the scores it is compared with.

What the chapter and users call is re-exported here::

    from ptlab.attribution import FamilySpec, train_family, eval_set, integrated_gradients
"""

from ptlab.attribution.family import MEMBERS, OBJECTIVE, FamilySpec, eval_set, train_family
from ptlab.attribution.losses import EvalSet, fixed_noise, loss_at, losses_at_many
from ptlab.attribution.scores import (
    gradients_at_ones,
    integrated_gradients,
    leave_one_out,
    michel,
    shapley_sampled,
)
from ptlab.attribution.study import BASELINES, LABELS, StudySettings, Tables, run, show

__all__ = [
    "BASELINES",
    "LABELS",
    "MEMBERS",
    "OBJECTIVE",
    "EvalSet",
    "FamilySpec",
    "StudySettings",
    "Tables",
    "eval_set",
    "fixed_noise",
    "gradients_at_ones",
    "integrated_gradients",
    "leave_one_out",
    "loss_at",
    "losses_at_many",
    "michel",
    "run",
    "shapley_sampled",
    "show",
    "train_family",
]
