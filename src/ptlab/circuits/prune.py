"""Pruning a frozen model to a task circuit: learned node masks, then bisection on k (Gao et
al. 2025; §3 of the brief). Shown in: chapter *circuits*.

* Nodes: every scalar channel at the eight node locations of every layer
  (``model.LOCATIONS``), numbered layer by layer, location by location (``NodeIndex``).
* Ablation: a pruned node is replaced by its mean over pretraining text,
  x_i ← m_i·x_i + (1 − m_i)·μ_i (``mean``), or by 0 (``zero``, the control). The means are
  taken over every position of ordinary pretraining windows (``node_means``), not over the task.
* Mask learning: one parameter τ_i per node, τ ~ N(0.1, 0.01) (every node starts on), clamped
  to [−1, 1] after each step. Forward m = Heaviside(τ) (1 if τ ≥ 0); backward the surrogate
  ∂m/∂τ = σ′(τ/T)/T with T = 1 (``heaviside_ste``). Objective: task loss of the masked model +
  k_coef·Σ m_i; AdamW (lr, weight decay 1e-3, β = (0.9, 0.95)), gradient clip 1, linear decay
  to 0; batches of ``batch_pairs`` pairs. This is the one loop of its own the study keeps:
  the model's weights are frozen and only τ learns.
* Discretisation: rank the nodes by τ, keep the top k, ablate the rest, and bisect on k for the
  smallest k whose task loss on the pruning pairs is ≤ the target (0.15 nats), assuming the
  loss falls as k grows (``smallest_passing``). Decision: the bisection's upper end is the
  learned mask's own size when that set meets the target (``circuit``); the whole model only
  when it does not. No logit recalibration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ptlab.circuits.model import CircuitModel, NodeIndex
from ptlab.circuits.tasks import TaskSet, task_loss
from ptlab.models.config import ConfigError

ABLATIONS = ("mean", "zero")


@dataclass(frozen=True)
class PruneConfig:
    """Mask learning and discretisation settings (Table 2 of the paper's search centres)."""

    steps: int = 200
    batch_pairs: int = 32
    lr: float = 1e-2
    k_coef: float = 1e-4
    weight_decay: float = 1e-3
    temperature: float = 1.0
    target: float = 0.15  # nats of mean two-way cross-entropy
    ablation: str = "mean"

    def __post_init__(self) -> None:
        if self.ablation not in ABLATIONS:
            raise ConfigError(
                f"ablation must be one of {', '.join(ABLATIONS)}, got {self.ablation!r}"
            )
        for name in ("steps", "batch_pairs"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        for name in ("lr", "k_coef", "target", "temperature"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")


class HeavisideSTE(torch.autograd.Function):
    """m = 1[τ ≥ 0] forward; σ′(τ/T)/T backward."""

    @staticmethod
    def forward(ctx, tau, temperature):
        ctx.save_for_backward(tau)
        ctx.temperature = temperature
        return (tau >= 0).to(tau.dtype)

    @staticmethod
    def backward(ctx, grad):
        (tau,) = ctx.saved_tensors
        s = torch.sigmoid(tau / ctx.temperature)
        return grad * s * (1 - s) / ctx.temperature, None


def heaviside_ste(tau: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    return HeavisideSTE.apply(tau, temperature)


def ablation_edit(index: NodeIndex, gates: torch.Tensor, means: dict) -> Callable:
    """The model edit x ← m·x + (1 − m)·μ at every site, m = ``gates`` [n] (0/1 or STE)."""
    g = index.split(gates)

    def edit(layer: int, loc: str, x: torch.Tensor) -> torch.Tensor:
        m = g[(layer, loc)]
        return x * m + (1 - m) * means[(layer, loc)]

    return edit


@torch.no_grad()
def node_means(model: CircuitModel, batches: list[torch.Tensor]) -> dict:
    """Mean activation of every node over all positions of ``batches`` ([B, T] windows)."""
    sums: dict[tuple[int, str], torch.Tensor] = {}
    count = 0

    def record(layer, loc, x):
        key = (layer, loc)
        sums[key] = sums.get(key, 0) + x.sum(dim=(0, 1))
        return x

    for b in batches:
        model(b, edit=record)
        count += b.shape[0] * b.shape[1]
    return {k: v / count for k, v in sums.items()}


def zero_means(means: dict) -> dict:
    return {k: torch.zeros_like(v) for k, v in means.items()}


@torch.no_grad()
def loss_keeping(model, ts: TaskSet, means: dict, keep: torch.Tensor) -> float:
    """Task loss with only the ``keep`` nodes (bool [n]) intact, the others ablated."""
    index = NodeIndex(model.cfg)
    gates = keep.float().to(ts.tokens.device)
    return float(task_loss(model, ts, ablation_edit(index, gates, means)))


def learn_scores(model, ts: TaskSet, means: dict, cfg: PruneConfig, seed: int) -> torch.Tensor:
    """τ [n] after mask learning on ``ts`` (the model is frozen)."""
    index = NodeIndex(model.cfg)
    g = torch.Generator().manual_seed(seed)
    tau = 0.1 + 0.01 * torch.randn(index.n, generator=g)
    tau = tau.to(ts.tokens.device).requires_grad_(True)
    opt = torch.optim.AdamW([tau], lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    n_pairs = len(ts) // 2
    frozen = [p.requires_grad_(False) for p in model.parameters()]
    try:
        for step in range(cfg.steps):
            for group in opt.param_groups:
                group["lr"] = cfg.lr * (1 - step / cfg.steps)
            pairs = torch.randint(0, n_pairs, (min(cfg.batch_pairs, n_pairs),), generator=g)
            batch = ts.subset(torch.stack([2 * pairs, 2 * pairs + 1], 1).flatten())
            gates = heaviside_ste(tau, cfg.temperature)
            loss = task_loss(model, batch, ablation_edit(index, gates, means))
            loss = loss + cfg.k_coef * gates.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([tau], 1.0)
            opt.step()
            with torch.no_grad():
                tau.clamp_(-1.0, 1.0)
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return tau.detach().cpu()


def smallest_passing(passes: Callable[[int], bool], n: int) -> int | None:
    """The smallest k in [0, n] with ``passes(k)``, by bisection (``passes`` assumed monotone:
    False … False True … True); None if even ``passes(n)`` is False."""
    if not passes(n):
        return None
    lo, hi = -1, n  # passes(lo) is False (or lo = -1), passes(hi) is True
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return hi


def top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """bool [n]: the k highest scores (ties broken by index, so the result is deterministic)."""
    order = np.lexsort((np.arange(len(scores)), -scores.detach().cpu().numpy()))
    keep = torch.zeros(len(scores), dtype=torch.bool)
    keep[torch.as_tensor(order[:k])] = True
    return keep


def circuit(model, ts: TaskSet, means: dict, scores: torch.Tensor, target: float):
    """The smallest top-k node set whose task loss on ``ts`` is ≤ ``target`` (bool [n]), or
    None. The bisection runs below the learned mask's own size k₀ = #{τ ≥ 0} when that set
    meets the target, else below n when the whole model does: past k₀ the ranking is among
    nodes the penalty pushed to the floor (τ = −1, tied), where adding nodes need not help."""
    n = len(scores)
    losses: dict[int, float] = {}

    def passes(k: int) -> bool:
        if k not in losses:
            losses[k] = loss_keeping(model, ts, means, top_k(scores, k))
        return losses[k] <= target

    for hi in (int((scores >= 0).sum()), n):
        if passes(hi):
            return top_k(scores, smallest_passing(passes, hi))
    return None
