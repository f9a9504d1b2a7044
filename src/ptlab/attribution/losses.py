"""The loss as a deterministic function of the head gates, on a fixed set of windows.

The loss of each objective is ``ptlab.train.sequence_losses`` (the one the model trains on).
Here the masking noise is drawn once (``fixed_noise``) and reused for every evaluation, so the
loss is a function of the gates alone ("common random numbers", the standard variance-reduction
trick for comparing noisy objectives).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ptlab.models import OBJECTIVES
from ptlab.train import draw_noise, sequence_losses

NOISE_SEED = 4_004  # evaluation noise: separate from every training seed


@dataclass(frozen=True)
class EvalSet:
    """Windows ``tokens`` [B, T] (causal: [B, T+1]) with their fixed noise (t [B], mask [B, T])
    for a masked-diffusion objective, or none."""

    tokens: torch.Tensor
    t: torch.Tensor | None = None
    mask: torch.Tensor | None = None

    @property
    def noise(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        return None if self.t is None else (self.t, self.mask)

    @property
    def args(self) -> tuple:
        """The tensors that go with each gate row (captum repeats them per IG step)."""
        return (self.tokens,) if self.t is None else (self.tokens, self.t, self.mask)

    def __len__(self) -> int:
        return self.tokens.shape[0]


def fixed_noise(tokens: torch.Tensor, objective: str, seed: int = NOISE_SEED) -> EvalSet:
    """Attach one noise draw to the windows (none for the causal objective)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if objective == "causal":
        return EvalSet(tokens)
    t, mask = draw_noise(tuple(tokens.shape), seed, 0, tokens.device)
    return EvalSet(tokens, t, mask)


def gated_losses(model, gates: torch.Tensor | None, tokens, t=None, mask=None) -> torch.Tensor:
    """Per-window loss [B] at gates [B, N] (or [N], or None): the forward function of the
    attribution methods, with the EvalSet's tensors as extra arguments (``EvalSet.args``)."""
    noise = None if t is None else (t, mask)
    return sequence_losses(model, tokens, noise, head_gates=gates)


@torch.no_grad()
def loss_at(model, es: EvalSet, gates: torch.Tensor | None = None, chunk: int = 64) -> float:
    """Mean loss over the set at one gate vector [N] (None: the ungated model)."""
    total = 0.0
    for i in range(0, len(es), chunk):
        part = [a[i : i + chunk] for a in es.args]
        total += float(gated_losses(model, gates, *part).sum())
    return total / len(es)


@torch.no_grad()
def losses_at_many(model, es: EvalSet, gate_rows: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Mean loss at each of M gate vectors [M, N], batching windows × masks into big forwards."""
    B = len(es)
    M = gate_rows.shape[0]
    out = torch.empty(M)
    per = max(1, chunk // B)
    for i in range(0, M, per):
        g = gate_rows[i : i + per]
        m = g.shape[0]
        rows = g.repeat_interleave(B, dim=0)
        args = [a.repeat(m, *([1] * (a.dim() - 1))) for a in es.args]
        out[i : i + m] = gated_losses(model, rows, *args).view(m, B).mean(dim=1)
    return out
