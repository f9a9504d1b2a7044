"""Per-sequence losses of the three objectives as deterministic functions of the head gates.

* ``ar``    autoregressive: mean next-byte cross-entropy of ``tokens[:, 1:]``.
* ``llada`` masked diffusion from scratch (bidirectional): masked positions replaced by MASK,
            the 1/t-weighted CE on them, divided by T (LLaDA's estimator of the NLL bound).
* ``dream`` masked diffusion adapted from the AR model: the same masking, but the logits are
            shifted, so position i−1 predicts token i; position 0 is never masked.

The masking noise is drawn once (``fixed_noise``) and reused for every evaluation, so the loss
is a function of the gates alone ("common random numbers", the standard variance-reduction
trick for comparing noisy objectives).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ptlab import data
from ptlab.train import draw_noise

OBJECTIVES = ("ar", "llada", "dream")
NOISE_SEED = 4_004  # evaluation noise: separate from every training seed


@dataclass(frozen=True)
class EvalSet:
    """Windows ``tokens`` [B, T] with their fixed noise (t [B], mask [B, T]) and objective."""

    tokens: torch.Tensor
    objective: str
    t: torch.Tensor | None = None
    mask: torch.Tensor | None = None

    @property
    def args(self) -> tuple:
        """The tensors that go with each gate row (captum repeats them per IG step)."""
        return (self.tokens,) if self.objective == "ar" else (self.tokens, self.t, self.mask)


def fixed_noise(tokens: torch.Tensor, objective: str, seed: int = NOISE_SEED) -> EvalSet:
    """Attach one noise draw to the windows (none for ``ar``; position 0 kept for ``dream``)."""
    check_objective(objective)
    if objective == "ar":
        return EvalSet(tokens, objective)
    t, mask = draw_noise(tuple(tokens.shape), seed, 0, tokens.device)
    if objective == "dream":
        mask = mask.clone()
        mask[:, 0] = False
    return EvalSet(tokens, objective, t, mask)


def check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")


def sequence_losses(model, objective: str, gates: torch.Tensor | None, tokens, t=None, mask=None):
    """Per-window loss [B] at gates [B, N] (or [N], or None for the ungated model)."""
    if objective == "ar":
        logits = model(tokens[:, :-1], head_gates=gates)
        ce = F.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], reduction="none")
        return ce.mean(dim=1)
    noisy = tokens.masked_fill(mask, data.MASK)
    logits = model(noisy, head_gates=gates)
    if objective == "llada":
        ce = F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")
        return (ce * mask / t[:, None]).sum(dim=1) / tokens.shape[1]
    ce = F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none")
    return (ce * mask[:, 1:] / t[:, None]).sum(dim=1) / (tokens.shape[1] - 1)


@torch.no_grad()
def loss_at(model, es: EvalSet, gates: torch.Tensor | None = None, chunk: int = 64) -> float:
    """Mean loss over the set at one gate vector [N] (None: the ungated model)."""
    total = 0.0
    B = es.tokens.shape[0]
    for i in range(0, B, chunk):
        part = [a[i : i + chunk] for a in es.args]
        total += float(sequence_losses(model, es.objective, gates, *part).sum())
    return total / B


@torch.no_grad()
def losses_at_many(model, es: EvalSet, gate_rows: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Mean loss at each of M gate vectors [M, N], batching windows × masks into big forwards."""
    B = es.tokens.shape[0]
    M = gate_rows.shape[0]
    out = torch.empty(M)
    per = max(1, chunk // B)
    for i in range(0, M, per):
        g = gate_rows[i : i + per]
        m = g.shape[0]
        rows = g.repeat_interleave(B, dim=0)
        args = [a.repeat(m, *([1] * (a.dim() - 1))) for a in es.args]
        lv = sequence_losses(model, es.objective, rows, *args).view(m, B)
        out[i : i + m] = lv.mean(dim=1)
    return out
