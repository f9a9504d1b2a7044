"""Head scores on the gates: Integrated Gradients (captum), Michel et al.'s first-order
importance, leave-one-out ablation and sampled Shapley values.

Every score has one shape, like captum's ``attribute``: ``score(model, es, **options)`` returns
an array [N] over the ``model.cfg.n_gates`` head gates (per window [B, N] where a flag asks;
IG's completeness gap only when asked).

Sign convention (the lab's Note 5, book/en/notes.md): the loss is attributed, so IG_h < 0 means
opening head h lowers the loss ("useful") and IG_h > 0 that it raises it along the path ("harmful").
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import IntegratedGradients, ShapleyValueSampling

from ptlab.attribution.losses import EvalSet, gated_losses, losses_at_many


def _check(es, baseline, n_steps) -> None:
    if not isinstance(es, EvalSet):
        raise ValueError("pass the windows as an EvalSet (ptlab.attribution.eval_set)")
    if es.tokens.dim() != 2 or es.tokens.is_floating_point():
        raise ValueError("tokens must be a [B, T] LongTensor")
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    if not (isinstance(baseline, (int, float)) and 0.0 <= baseline < 1.0):
        raise ValueError(f"baseline must be a number in [0, 1), got {baseline!r}")


def _needs_noise(model, es: EvalSet) -> None:
    if model.cfg.objective != "causal" and es.t is None:
        raise ValueError(
            f"a {model.cfg.objective} loss needs fixed noise: build the set with "
            "ptlab.attribution.fixed_noise(tokens, objective)"
        )


def integrated_gradients(
    model,
    es: EvalSet,
    baseline: float = 0.0,
    n_steps: int = 32,
    *,
    per_example: bool = False,
    return_convergence_delta: bool = False,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
):
    """IG of the model's loss on the windows w.r.t. all head gates, path b·1 → 1
    (Sundararajan et al. 2017, arXiv 1703.01365).

    Returns ig [N] (or [B, N] with ``per_example``); with ``return_convergence_delta`` also
    delta = Σ IG − (L(1) − L(b)), the completeness gap (a float, or [B]). All heads in one pass
    of n_steps batched forward/backward evaluations: each window gets its own gate row, so
    backpropagating the summed per-window losses yields every window's gradient at once.
    """
    _check(es, baseline, n_steps)
    _needs_noise(model, es)
    model.eval()
    B, N = len(es), model.cfg.n_gates
    ig = IntegratedGradients(
        lambda g, *args: gated_losses(model, g, *args), multiply_by_inputs=True
    )
    attr, delta = ig.attribute(
        torch.ones(B, N, device=es.tokens.device),
        baselines=float(baseline),
        additional_forward_args=es.args,
        n_steps=n_steps,
        method=method,
        internal_batch_size=internal_batch_size or B * n_steps,
        return_convergence_delta=True,
    )
    attr, delta = attr.detach().cpu().numpy(), delta.detach().cpu().numpy()
    if not per_example:
        attr, delta = attr.mean(axis=0), float(delta.mean())
    return (attr, delta) if return_convergence_delta else attr


def integrated_gradients_manual(
    model, es: EvalSet, baseline: float = 0.0, n_steps: int = 32
) -> np.ndarray:
    """The same Gauss–Legendre IG written out by hand (the test's reference for captum)."""
    x, w = np.polynomial.legendre.leggauss(n_steps)
    s, w = (1 + x) / 2, w / 2
    B, N = len(es), model.cfg.n_gates
    total = torch.zeros(B, N)
    for sk, wk in zip(s, w, strict=True):
        a = torch.full((B, N), baseline + sk * (1 - baseline), requires_grad=True)
        gated_losses(model, a, *es.args).sum().backward()
        total += wk * a.grad
    return ((1 - baseline) * total).mean(dim=0).numpy()


def gradients_at_ones(model, es: EvalSet) -> np.ndarray:
    """Per-window ∂L/∂a_h at a = 1, [B, N] (Michel's ξ gradient, one backward)."""
    _needs_noise(model, es)
    model.eval()
    a = torch.ones(len(es), model.cfg.n_gates, requires_grad=True)
    gated_losses(model, a, *es.args).sum().backward()
    return a.grad.detach().numpy()


def michel(model, es: EvalSet, *, signed: bool = False, layer_norm: bool = True) -> np.ndarray:
    """Michel et al. 2019 (arXiv 1905.10650): I_h = E_x |∂L/∂ξ_h|, l2-normalised per layer;
    ``signed`` gives the plain mean gradient E_x ∂L/∂ξ_h instead (IG's b → 1 limit)."""
    grads = gradients_at_ones(model, es)
    if signed:
        return grads.mean(axis=0)
    absolute = np.abs(grads).mean(axis=0)
    if not layer_norm:
        return absolute
    per = absolute.reshape(model.cfg.n_layers, -1)
    norms = np.maximum(np.linalg.norm(per, axis=1, keepdims=True), 1e-12)
    return (per / norms).reshape(-1)


def leave_one_out(model, es: EvalSet) -> np.ndarray:
    """Δ_h = L(1 − e_h) − L(1) for every head (> 0: removing the head hurts)."""
    N = model.cfg.n_gates
    rows = torch.ones(N + 1, N)
    rows[1:] -= torch.eye(N)
    L = losses_at_many(model, es, rows)
    return (L[1:] - L[0]).numpy()


def shapley_sampled(model, es: EvalSet, n_permutations: int = 50, seed: int = 0) -> np.ndarray:
    """Shapley values of the heads for v(S) = L(gates = 1_S), by captum's permutation sampling.

    Σ φ = L(1) − L(0) per permutation, the same total as IG with baseline 0.
    """
    N = model.cfg.n_gates
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
