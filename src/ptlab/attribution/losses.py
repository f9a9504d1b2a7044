"""The loss as a deterministic function of the head gates, on a fixed set of windows.

The loss of each objective is ``ptlab.train.sequence_losses`` (the one the model trains on).
Here the masking noise is drawn once (``fixed_noise``) and reused for every evaluation, so the
loss is a function of the gates alone ("common random numbers", the standard variance-reduction
trick for comparing noisy objectives).

Decision (stratified noise): a masked-diffusion window is scored ``draws`` = K times, once per
stratum of the masking ratio, as LLaDA's likelihood evaluation does (Nie et al. 2025,
arXiv 2502.09992, ``get_log_likelihood``): stratum k masks exactly l_k = ceil((k − u)·T'/K)
of the T' maskable positions (a fixed random subset; u ~ U(0, 1) per window), with weight
T'/l_k, so the K counts are a stratified sample of the uniform count on {1..T'} and a constant
cross-entropy c scores exactly c in every row. The K rows of a window are consecutive; scores
"per example" are per *window* (``EvalSet.per_window`` averages its rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ptlab.models import OBJECTIVES
from ptlab.train import sequence_losses

NOISE_SEED = 4_004  # evaluation noise: separate from every training seed
NOISE_STRATA = 4  # K strata of the masking ratio per window (LLaDA's evaluation uses more)


@dataclass(frozen=True)
class EvalSet:
    """Loss rows ``tokens`` [R, T] (causal: [R, T+1]) with their fixed noise (t [R], mask
    [R, T]) for a masked-diffusion objective, or none; ``draws`` consecutive rows per window."""

    tokens: torch.Tensor
    t: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    draws: int = 1

    @property
    def noise(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        return None if self.t is None else (self.t, self.mask)

    @property
    def args(self) -> tuple:
        """The tensors that go with each gate row (captum repeats them per IG step)."""
        return (self.tokens,) if self.t is None else (self.tokens, self.t, self.mask)

    @property
    def n_windows(self) -> int:
        return self.tokens.shape[0] // self.draws

    def per_window(self, rows):
        """Average the ``draws`` rows of each window: [R, ...] → [R / draws, ...]."""
        return rows.reshape(self.n_windows, self.draws, *rows.shape[1:]).mean(1)

    def subset(self, n_windows: int) -> EvalSet:
        """The first ``n_windows`` windows with all their rows."""
        r = n_windows * self.draws
        cut = None if self.t is None else (self.t[:r], self.mask[:r])
        return EvalSet(self.tokens[:r], *(cut or (None, None)), draws=self.draws)

    def __len__(self) -> int:
        return self.tokens.shape[0]


def stratum_counts(n: int, K: int, u: float) -> np.ndarray:
    """l_k = ceil((k − u)·n/K) for k = 1..K: one masked count per stratum of (0, n]."""
    k = np.arange(1, K + 1)
    return np.clip(np.ceil((k - u) * n / K).astype(int), 1, n)


def stratified_noise(
    shape: tuple[int, int], K: int, seed: int, shifted: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """t [B·K] and mask [B·K, T] (rows of window b at b·K .. b·K+K−1): row (b, k) masks exactly
    l_k of the maskable positions (1..T−1 when ``shifted``: position 0 is never predicted)."""
    rng = np.random.Generator(np.random.PCG64([seed, K, 0x57A7]))
    B, T = shape
    first = 1 if shifted else 0
    n = T - first
    t = np.empty(B * K)
    mask = np.zeros((B * K, T), dtype=bool)
    for b in range(B):
        for k, count in enumerate(stratum_counts(n, K, rng.random())):
            r = b * K + k
            mask[r, first + rng.permutation(n)[:count]] = True
            t[r] = count / n  # weight 1/t = n / l_k on the masked positions
    return torch.as_tensor(t, dtype=torch.float32), torch.as_tensor(mask)


def fixed_noise(
    tokens: torch.Tensor, objective: str, seed: int = NOISE_SEED, draws: int = NOISE_STRATA
) -> EvalSet:
    """Attach ``draws`` stratified noise draws to each window (none for the causal objective)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if objective == "causal":
        return EvalSet(tokens)
    if not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be an integer >= 1, got {draws!r}")
    shifted = objective == "shifted_masked_diffusion"
    t, mask = stratified_noise(tuple(tokens.shape), draws, seed, shifted)
    return EvalSet(tokens.repeat_interleave(draws, dim=0), t, mask.to(tokens.device), draws)


def gated_losses(model, gates: torch.Tensor | None, tokens, t=None, mask=None) -> torch.Tensor:
    """Per-row loss [R] at gates [R, N] (or [N], or None): the forward function of the
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
def losses_at_many(
    model, es: EvalSet, gate_rows: torch.Tensor, chunk: int = 256, per_window: bool = False
) -> torch.Tensor:
    """Mean loss at each of M gate vectors [M, N] (``per_window``: [M, windows]), batching
    windows × masks into forwards of about ``chunk`` rows."""
    R = len(es)
    M = gate_rows.shape[0]
    out = torch.empty(M, R)
    per = max(1, chunk // R)
    for i in range(0, M, per):
        g = gate_rows[i : i + per]
        m = g.shape[0]
        rows = g.repeat_interleave(R, dim=0)
        args = [a.repeat(m, *([1] * (a.dim() - 1))) for a in es.args]
        out[i : i + m] = gated_losses(model, rows, *args).view(m, R)
    if per_window:
        return out.view(M, es.n_windows, es.draws).mean(2)
    return out.mean(dim=1)
