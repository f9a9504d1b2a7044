"""Head scores on the gates: Integrated Gradients (captum), Michel et al.'s first-order
importance, leave-one-out ablation, sampled and exact Shapley values.

Every score has one shape, like captum's ``attribute``: ``score(model, es, **options)`` returns
an array [N] over the ``model.cfg.n_gates`` head gates (per window [W, N] with
``per_example=True``: a window's noise draws are averaged; IG's completeness gap only when asked).

Sign convention (the lab's Note 5, book/en/notes.md): the loss is attributed, so IG_h < 0 means
opening head h lowers the loss ("useful") and IG_h > 0 that it raises it along the path ("harmful").
"""

from __future__ import annotations

import math

import numpy as np
import torch
from captum.attr import IntegratedGradients

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

    Returns ig [N] (or [W, N] per window with ``per_example``); with
    ``return_convergence_delta`` also delta = Σ IG − (L(1) − L(b)), the completeness gap (a
    float, or [W]). All heads in one pass
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
    attr, delta = es.per_window(attr), es.per_window(delta)
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


def gradients_at(model, es: EvalSet, gates: torch.Tensor | None = None) -> np.ndarray:
    """Per-row ∂L/∂a_h at the gates [N] (default: all ones), [R, N]: one backward."""
    _needs_noise(model, es)
    model.eval()
    g = torch.ones(model.cfg.n_gates) if gates is None else gates.float()
    a = g.expand(len(es), -1).clone().requires_grad_(True)
    gated_losses(model, a, *es.args).sum().backward()
    return a.grad.detach().numpy()


def gradients_at_ones(model, es: EvalSet) -> np.ndarray:
    """Per-row ∂L/∂a_h at a = 1, [R, N] (Michel's ξ gradient, one backward)."""
    return gradients_at(model, es)


def layer_normalised(importance: np.ndarray, n_layers: int, active=None) -> np.ndarray:
    """Michel's l2 normalisation within each layer, over the ``active`` heads (default all)."""
    x = importance * (1.0 if active is None else active)
    per = x.reshape(n_layers, -1)
    norms = np.maximum(np.linalg.norm(per, axis=1, keepdims=True), 1e-12)
    return (per / norms).reshape(-1)


def michel(
    model,
    es: EvalSet,
    *,
    signed: bool = False,
    layer_norm: bool = True,
    gates: torch.Tensor | None = None,
    per_example: bool = False,
) -> np.ndarray:
    """Michel et al. 2019 (arXiv 1905.10650): I_h = E_x |∂L/∂ξ_h|, l2-normalised per layer;
    ``signed`` gives the plain mean gradient E_x ∂L/∂ξ_h instead (IG's b → 1 limit).
    ``gates`` [N] evaluates at a pruned model (heads at 0 are left out of the normalisation);
    ``per_example`` returns the per-window mean of |∂L/∂ξ| (signed: of ∂L/∂ξ), unnormalised."""
    grads = gradients_at(model, es, gates)
    if per_example:
        return es.per_window(grads if signed else np.abs(grads))
    if signed:
        return grads.mean(axis=0)
    absolute = np.abs(grads).mean(axis=0)
    if not layer_norm:
        return absolute
    active = None if gates is None else (gates.numpy() != 0).astype(float)
    return layer_normalised(absolute, model.cfg.n_layers, active)


def leave_one_out(model, es: EvalSet, *, per_example: bool = False) -> np.ndarray:
    """Δ_h = L(1 − e_h) − L(1) for every head (> 0: removing the head hurts); [W, N] per
    window with ``per_example``."""
    N = model.cfg.n_gates
    rows = torch.ones(N + 1, N)
    rows[1:] -= torch.eye(N)
    L = losses_at_many(model, es, rows, per_window=True)  # [N + 1, W]
    delta = (L[1:] - L[0]).numpy().T  # [W, N]
    return delta if per_example else delta.mean(axis=0)


def shapley_permutations(model, es: EvalSet, perms: np.ndarray) -> np.ndarray:
    """Per-window Shapley estimate [W, N] from the given orders [P, N] of v(S) = L(1_S):
    the mean over orders of each head's marginal contribution when it joins its predecessors.
    Σ_h φ_h = L(1) − L(0) per window and per order."""
    P, N = perms.shape
    prefix = torch.zeros(P, N + 1, N)
    for p, order in enumerate(perms):
        for j in range(N):
            prefix[p, j + 1 :, int(order[j])] = 1.0
    L = losses_at_many(model, es, prefix.reshape(-1, N), per_window=True)
    L = L.view(P, N + 1, -1).numpy()  # [P, N + 1, W]
    marginal = L[:, 1:] - L[:, :-1]  # [P, N, W]: the j-th head of each order
    phi = np.zeros((P, N, L.shape[2]))
    phi[np.arange(P)[:, None], perms] = marginal
    return phi.mean(axis=0).T


def shapley_sampled(
    model, es: EvalSet, n_permutations: int = 50, seed: int = 0, *, per_example: bool = False
) -> np.ndarray:
    """Shapley values of the heads for v(S) = L(gates = 1_S), by permutation sampling
    (Castro et al. 2009): n_permutations uniform orders, all prefixes of each in one batch.

    Σ φ = L(1) − L(0) per permutation, the same total as IG with baseline 0.
    """
    N = model.cfg.n_gates
    rng = np.random.default_rng(seed)
    perms = np.stack([rng.permutation(N) for _ in range(n_permutations)])
    phi = shapley_permutations(model, es, perms)
    return phi if per_example else phi.mean(axis=0)


def subset_values_flat(model, es: EvalSet, chunk: int = 256) -> np.ndarray:
    """v(S) = L(gates = 1_S) for all 2^N subsets by plain batched forwards (the reference that
    ``subset_values`` is tested against), indexed by the bit mask of S (bit h: head h)."""
    N = model.cfg.n_gates
    idx = torch.arange(2**N)
    rows = ((idx[:, None] >> torch.arange(N)[None, :]) & 1).float()  # [2^N, N]
    return losses_at_many(model, es, rows, chunk=chunk).double().numpy()


class _Logits:
    """Stands in for the model inside ``train.sequence_losses`` (the one loss per objective):
    records the inputs it is called with, or returns logits computed elsewhere."""

    def __init__(self, model, logits=None):
        self.cfg, self.model, self.logits, self.inputs = model.cfg, model, logits, None

    def __call__(self, inputs, head_gates=None):
        if self.logits is None:
            self.inputs = inputs
            return self.model(inputs)
        return self.logits


@torch.no_grad()
def subset_values(model, es: EvalSet, chunk_rows: int = 2048) -> np.ndarray:
    """v(S) = L(gates = 1_S) for all 2^N subsets, indexed by the bit mask of S (bit h: head h).

    Layer l's output depends only on the gates of layers 0..l, so the enumeration walks the
    layers depth first: each layer runs once per setting of the gates before it, 2^H settings
    of its own heads at a time, and only the last layer (with the LM head and the loss) runs
    for all 2^N subsets, batched over the settings of the last two layers (about
    ``chunk_rows`` rows a call: few large calls, not thousands of small ones). For 4 layers ×
    4 heads that is 16 + 256 + 4,096 + 65,536 block applications instead of 4 × 65,536 (equal
    to ``subset_values_flat`` to float precision; tested). The loss is
    ``train.sequence_losses`` itself, fed the computed logits.
    """
    from ptlab.models.model import attention_mask
    from ptlab.train import sequence_losses

    model.eval()
    L, H, R = model.cfg.n_layers, model.cfg.n_heads, len(es)
    noise = es.noise
    recorder = _Logits(model)
    sequence_losses(recorder, es.tokens, noise)  # the objective's own inputs (masking, shift)
    inputs = recorder.inputs  # [R, T]
    T = inputs.shape[1]
    mask = attention_mask(T, model.causal, model.strict, inputs.device)
    causal = model.causal and mask is None
    K = 2**H
    settings = ((torch.arange(K)[:, None] >> torch.arange(H)[None, :]) & 1).float()  # [K, H]
    gates = settings.repeat_interleave(R, dim=0)  # [K·R, H]: setting-major rows
    e0 = model.embed(inputs)  # [R, T, d]: the embedding (PT's residual returns to it)
    e = e0.repeat(K, 1, 1)  # [K·R, T, d]
    values = np.empty(2**model.cfg.n_gates)

    def block(layer: int):
        return model.blocks[layer if len(model.blocks) > 1 else 0]

    def last(s: torch.Tensor, prefixes: np.ndarray) -> None:
        # s [P·R, T, d]: the streams entering the last layer under P gate prefixes; all K
        # settings of the last layer's heads for every prefix, in chunks of whole prefixes
        P = len(prefixes)
        per = max(1, chunk_rows // (K * R))
        for i in range(0, P, per):
            p = min(per, P - i)
            x = s[i * R : (i + p) * R].view(p, 1, R, *s.shape[1:])
            x = x.expand(p, K, R, *s.shape[1:]).reshape(p * K * R, *s.shape[1:])
            g = gates.repeat(p, 1)  # rows (prefix, setting, row)
            out = block(L - 1)(x, e0.repeat(p * K, 1, 1), model.rope, mask, causal, g)
            logits = model.lm_head(model.norm(out))
            reps = p * K
            toks = es.tokens.repeat(reps, *([1] * (es.tokens.dim() - 1)))
            nz = (
                None
                if noise is None
                else tuple(v.repeat(reps, *([1] * (v.dim() - 1))) for v in noise)
            )
            v = sequence_losses(_Logits(model, logits), toks, nz).view(p, K, R).mean(2)
            idx = prefixes[i : i + p, None] + (np.arange(K)[None, :] << ((L - 1) * H))
            values[idx.ravel()] = v.double().numpy().ravel()

    def walk(layer: int, s: torch.Tensor, prefix: int) -> None:
        # s [R, T, d]: the stream entering ``layer`` under the gate settings ``prefix`` of the
        # layers before it; K settings of this layer's heads in one batched application
        out = block(layer)(s.repeat(K, 1, 1), e, model.rope, mask, causal, gates)
        prefixes = prefix + (np.arange(K) << (layer * H))
        if layer == L - 2:
            last(out, prefixes)
            return
        for k in range(K):
            walk(layer + 1, out[k * R : (k + 1) * R], int(prefixes[k]))

    if L == 1:
        last(e0, np.zeros(1, dtype=np.int64))
        return values
    walk(0, e0, 0)
    return values


def shapley_from_values(v: np.ndarray) -> np.ndarray:
    """Exact Shapley values from all 2^N subset values (bit-mask indexed):
    φ_h = Σ_{S ∌ h} |S|! (N − |S| − 1)! / N! · (v(S ∪ h) − v(S))."""
    N = int(np.log2(len(v)))
    idx = np.arange(2**N)
    size = np.array([bin(i).count("1") for i in range(2**N)])
    weight = np.array([math.factorial(s) * math.factorial(N - s - 1) for s in range(N)])
    weight = weight / math.factorial(N)
    phi = np.empty(N)
    for h in range(N):
        without = idx[(idx >> h) & 1 == 0]
        phi[h] = float((weight[size[without]] * (v[without | (1 << h)] - v[without])).sum())
    return phi


def shapley_exact(model, es: EvalSet) -> np.ndarray:
    """Exact Shapley values [N] of v(S) = L(1_S): all 2^N gate subsets (N = 16: 65,536),
    enumerated layer by layer (``subset_values``). Σ φ = L(1) − L(0) exactly (efficiency)."""
    if model.cfg.n_gates > 20:
        raise ValueError(f"exact Shapley enumerates 2^N subsets; N = {model.cfg.n_gates} > 20")
    return shapley_from_values(subset_values(model, es))
