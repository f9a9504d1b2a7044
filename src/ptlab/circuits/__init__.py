"""Weight-sparse transformers and task circuits (Gao et al. 2025, arXiv 2511.13653): sparse
training as a step hook of the one training loop, byte-level Python contrast tasks, node-mask
pruning with bisection, edge counting, and the study's tables. Shown in: chapter *circuits*.

What the chapter and users call is re-exported here::

    from ptlab.circuits import CircuitsSpec, train_family, run, show
"""

from ptlab.circuits.edges import count_edges, edge_blocks
from ptlab.circuits.family import CircuitsSpec, ModelSpec, Trained, random_init, train_family
from ptlab.circuits.model import LOCATIONS, CircuitConfig, CircuitModel, NodeIndex
from ptlab.circuits.prune import PruneConfig, find_circuit, fit_calibration, node_means, rank
from ptlab.circuits.sparse import Sparsifier, abs_topk, l0_fraction, project_topk
from ptlab.circuits.study import LABELS, Tables, run, show
from ptlab.circuits.tasks import TASKS, make_pairs, task_loss, task_set

__all__ = [
    "LABELS",
    "LOCATIONS",
    "TASKS",
    "CircuitConfig",
    "CircuitModel",
    "CircuitsSpec",
    "ModelSpec",
    "NodeIndex",
    "PruneConfig",
    "Sparsifier",
    "Tables",
    "Trained",
    "abs_topk",
    "count_edges",
    "edge_blocks",
    "find_circuit",
    "l0_fraction",
    "fit_calibration",
    "make_pairs",
    "node_means",
    "project_topk",
    "random_init",
    "rank",
    "run",
    "show",
    "task_loss",
    "task_set",
    "train_family",
]
