"""Head scores on the gates: Integrated Gradients (captum), Michel et al.'s first-order
importance, leave-one-out ablation and sampled Shapley values.

Sign convention (the lab's Note 5, book/en/notes.md): the loss is attributed, so IG_h < 0 means
opening head h lowers the loss ("useful") and IG_h > 0 that it raises it along the path ("harmful").
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import IntegratedGradients, ShapleyValueSampling

from ptlab.attribution.losses import EvalSet, check_objective, losses_at_many, sequence_losses


def n_heads_total(model) -> int:
    return model.cfg.n_layers * model.cfg.n_heads


def _check(model, tokens, baseline, n_steps) -> None:
    ok = isinstance(tokens, torch.Tensor) and tokens.dim() == 2
    if not (ok and not tokens.is_floating_point()):
        raise ValueError("tokens must be a [B, T] LongTensor")
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    if not (isinstance(baseline, (int, float)) and 0.0 <= baseline < 1.0):
        raise ValueError(f"baseline must be a number in [0, 1), got {baseline!r}")


def _eval_set(model, tokens, objective, noise) -> EvalSet:
    if objective is None:
        objective = "ar" if model.cfg.objective == "causal" else "llada"
    check_objective(objective)
    if objective == "ar":
        return EvalSet(tokens, "ar")
    if noise is None:
        raise ValueError(
            "a masked-diffusion loss needs fixed noise: pass noise=(t, mask) "
            "(see ptlab.attribution.losses.fixed_noise)"
        )
    t, mask = noise
    return EvalSet(tokens, objective, t, mask)


def integrated_gradients(
    model,
    tokens: torch.Tensor,
    baseline: float = 0.0,
    n_steps: int = 32,
    *,
    objective: str | None = None,
    noise: tuple[torch.Tensor, torch.Tensor] | None = None,
    per_example: bool = False,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """IG of the model's loss on ``tokens`` w.r.t. all head gates, path b·1 → 1.

    Returns (ig, delta): ig is [N] (or [B, N] per example) and delta = Σ IG − (L(1) − L(b))
    is the completeness gap (scalar, or [B]). All heads in one pass of n_steps batched
    forward/backward evaluations: each window gets its own gate row, so backpropagating the
    summed per-window losses yields every window's gradient at once.
    """
    _check(model, tokens, baseline, n_steps)
    es = _eval_set(model, tokens, objective, noise)
    model.eval()
    B, N = tokens.shape[0], n_heads_total(model)

    def forward(gates, *args):
        return sequence_losses(model, es.objective, gates, *args)

    ig = IntegratedGradients(forward, multiply_by_inputs=True)
    inputs = torch.ones(B, N, device=tokens.device)
    attr, delta = ig.attribute(
        inputs,
        baselines=float(baseline),
        additional_forward_args=es.args,
        n_steps=n_steps,
        method=method,
        internal_batch_size=internal_batch_size or B * n_steps,
        return_convergence_delta=True,
    )
    attr, delta = attr.detach(), delta.detach()
    if per_example:
        return attr, delta
    return attr.mean(dim=0), delta.mean()


def integrated_gradients_manual(
    model, es: EvalSet, baseline: float = 0.0, n_steps: int = 32
) -> torch.Tensor:
    """The same Gauss–Legendre IG written out by hand (the test's reference for captum)."""
    x, w = np.polynomial.legendre.leggauss(n_steps)
    s, w = (1 + x) / 2, w / 2
    B, N = es.tokens.shape[0], n_heads_total(model)
    total = torch.zeros(B, N)
    for sk, wk in zip(s, w, strict=True):
        a = torch.full((B, N), baseline + sk * (1 - baseline), requires_grad=True)
        sequence_losses(model, es.objective, a, *es.args).sum().backward()
        total += wk * a.grad
    return ((1 - baseline) * total).mean(dim=0)


def gradients_at_ones(model, es: EvalSet) -> torch.Tensor:
    """Per-window ∂L/∂a_h at a = 1, [B, N] (Michel's ξ gradient, one backward)."""
    model.eval()
    a = torch.ones(es.tokens.shape[0], n_heads_total(model), requires_grad=True)
    sequence_losses(model, es.objective, a, *es.args).sum().backward()
    return a.grad.detach()


def michel(grads: torch.Tensor, n_layers: int, layer_norm: bool = True) -> dict[str, np.ndarray]:
    """Michel et al. 2019: I_h = E_x |∂L/∂ξ_h| (layer-wise l2-normalised) and the signed mean."""
    absolute = grads.abs().mean(dim=0)
    if layer_norm:
        per = absolute.view(n_layers, -1)
        absolute = (per / per.norm(dim=1, keepdim=True).clamp(min=1e-12)).reshape(-1)
    return {"abs": absolute.numpy(), "signed": grads.mean(dim=0).numpy()}


def leave_one_out(model, es: EvalSet) -> np.ndarray:
    """Δ_h = L(1 − e_h) − L(1) for every head (> 0: removing the head hurts)."""
    N = n_heads_total(model)
    rows = torch.ones(N + 1, N)
    rows[1:] -= torch.eye(N)
    L = losses_at_many(model, es, rows)
    return (L[1:] - L[0]).numpy()


def shapley_sampled(model, es: EvalSet, n_permutations: int = 50, seed: int = 0) -> np.ndarray:
    """Shapley values of the heads for v(S) = L(gates = 1_S), by captum's permutation sampling.

    Σ φ = L(1) − L(0) per permutation, the same total as IG with baseline 0.
    """
    N = n_heads_total(model)
    torch.manual_seed(seed)
    sv = ShapleyValueSampling(lambda gates: losses_at_many(model, es, gates))  # [k, N] → [k]
    phi = sv.attribute(
        torch.ones(1, N),
        baselines=0.0,
        n_samples=n_permutations,
        perturbations_per_eval=1,
        show_progress=False,
    )
    return phi[0].numpy()
