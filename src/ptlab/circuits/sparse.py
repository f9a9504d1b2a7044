"""Weight-sparse training as a step hook of the one training loop, and AbsTopK activations.

Gao et al. (2025, arXiv 2511.13653) train with a magnitude top-k projection after every
optimizer step; this module is that projection and its schedules. Shown in: chapter *circuits*.

* ``project_topk(w, k, floor, axis)``: keep the k largest |w| of one matrix, the others set to 0.
  Before ranking, every unit's ``floor`` largest weights along ``axis`` get infinite score, so
  each neuron or channel keeps a minimum fan (j = 4). Decision: k is raised to the number of
  protected entries when the fraction asks for fewer, so "exactly k nonzeros" and "every unit
  keeps its floor" hold together (the smallest L0 of any model here is above that point).
* Which matrices, and the floor's axis (torch ``Linear`` weights are [out, in]): read matrices
  (``c_attn``, ``mlp.c_fc``) protect each output unit's row; write matrices (``attn.c_proj``,
  ``mlp.c_proj``) protect each input unit's column; the token embedding and the unembedding
  are sparsified without a floor, at the embedding fraction; biases at the embedding fraction
  too. The dense bigram table is never sparsified.
* The Adam moments stay dense and nothing is frozen: a zeroed weight comes back when an update
  lifts it above the threshold (regrowth).
* ``l0_fraction(step)``: dense for the first 1 % of steps, then linear from 1 to the target
  between 1 % and 50 % of training, then the target. The embedding fraction follows the same
  curve to its own target. ``lr_factor(step)`` = √(L0_target / L0(step)), the "sharkfin"
  factor on the loop's linear warm-up/decay.
* ``abs_topk(x, frac)``: the k = ⌊frac·dim⌋ entries of largest |x| along the last axis are kept,
  the rest set to 0 (frac = 1 is the identity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

FLOOR = 4  # nonzero weights every neuron / channel keeps (Gao et al.'s j; a spec may lower it)
DENSE_UNTIL, ANNEAL_END = 0.01, 0.50  # fractions of training: dense, then linear to the target


def project_topk(w: torch.Tensor, k: int, floor: int = 0, axis: int | None = None) -> None:
    """In place: zero all but the k largest-|w| entries; with ``floor`` > 0, first protect each
    unit's ``floor`` largest entries along ``axis`` (1: per row, 0: per column)."""
    n = w.numel()
    if k >= n:
        return
    score = w.detach().abs()
    if floor > 0 and axis is not None:
        score = score.clone()
        top = score.topk(min(floor, score.shape[axis]), dim=axis).indices
        score.scatter_(axis, top, float("inf"))
    keep = score.flatten().topk(k).indices
    mask = torch.zeros(n, dtype=torch.bool, device=w.device)
    mask[keep] = True
    w.data.mul_(mask.view_as(w))


def n_protected(shape: tuple[int, ...], floor: int, axis: int | None) -> int:
    """How many entries the floor protects: floor per unit along ``axis``."""
    if floor <= 0 or axis is None:
        return 0
    units = shape[1 - axis]
    return units * min(floor, shape[axis])


def k_for(shape: tuple[int, ...], fraction: float, floor: int, axis: int | None) -> int:
    """⌊fraction · numel⌋, raised to the protected count, at most numel."""
    n = math.prod(shape)
    return min(n, max(int(fraction * n), n_protected(shape, floor, axis)))


def l0_fraction(step: int, steps: int, target: float) -> float:
    """The annealed L0 fraction at ``step``: 1 until 1 % of ``steps``, linear to ``target`` at
    50 %, then ``target``."""
    t0, t1 = DENSE_UNTIL * steps, ANNEAL_END * steps
    if step < t0 or target >= 1.0:
        return 1.0
    if step >= t1:
        return target
    return 1.0 + (target - 1.0) * (step - t0) / max(t1 - t0, 1e-9)


def abs_topk(x: torch.Tensor, frac: float) -> torch.Tensor:
    """Keep the ⌊frac·dim⌋ entries of largest |x| along the last axis (AbsTopK), zero the rest.

    The k-th largest |x| is the threshold (``kthvalue``, faster than ``topk`` + scatter on the
    CPU); the gradient flows through the kept entries only. Ties at the threshold are kept,
    which matters only for exact zeros (they stay 0), so at most k entries are nonzero.
    """
    dim = x.shape[-1]
    k = max(1, int(frac * dim))
    if k >= dim:
        return x
    a = x.detach().abs()
    thr = a.kthvalue(dim - k + 1, dim=-1, keepdim=True).values
    return x * (a >= thr)


@dataclass(frozen=True)
class Sparsifier:
    """The ``after_step`` hook: project every sparsified tensor of the model to its top-k at the
    step's L0 fraction. ``targets``: {parameter name: ("hidden" | "embed", floor axis or None)}
    from the model (``CircuitModel.sparse_targets``)."""

    steps: int
    l0: float  # target fraction of the hidden matrices
    embed_l0: float  # target fraction of the embeddings and biases
    targets: dict[str, tuple[str, int | None]]
    floor: int = FLOOR  # weights every unit of a hidden matrix keeps (the paper's j)

    def fractions(self, step: int) -> dict[str, float]:
        return {
            "hidden": l0_fraction(step, self.steps, self.l0),
            "embed": l0_fraction(step, self.steps, self.embed_l0),
        }

    def lr_factor(self, step: int) -> float:
        """√(L0_target / L0(step)) of the hidden matrices: 1 at the end, small while dense."""
        return math.sqrt(self.l0 / l0_fraction(step, self.steps, self.l0))

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, step: int) -> None:
        frac = self.fractions(step)
        params = dict(model.named_parameters())
        for name, (group, axis) in self.targets.items():
            p = params[name]
            floor = self.floor if axis is not None else 0
            project_topk(p, k_for(tuple(p.shape), frac[group], floor, axis), floor, axis)
