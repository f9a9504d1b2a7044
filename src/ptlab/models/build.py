"""Building a model from its config, and the closed-form costs of every model family.

This module owns the join of the two families: the switch family (models/model.py, ``PTLM``)
and the cross-layer residual variants (models/residual.py, ``ResidualLM``); neither of them
imports it, so the package has no import circle.
"""

from __future__ import annotations

from torch import nn

from ptlab.models.config import ModelConfig
from ptlab.models.connections import (
    CURRENT_ONLY,
    DEPTH_SITES,
    LAYER_SCALED,
    PAIR_SCALED,
    SOFTMAX_MIXED,
    TOKEN_WEIGHTS,
    family,
    mudd_streams,
)
from ptlab.models.model import PTLM
from ptlab.models.residual import ResidualLM


def build_model(cfg: ModelConfig) -> nn.Module:
    """The model for ``cfg`` (float32, on the CPU; move it with ``.to(device)``): PTLM, or
    ``ResidualLM`` for a cross-layer residual variant (``cfg.residual != "baseline"``)."""
    if cfg.residual != "baseline":
        return ResidualLM(cfg)
    return PTLM(cfg)


def n_params(model: nn.Module) -> int:
    """Distinct parameters (a tied or shared tensor counts once)."""
    return sum(p.numel() for p in model.parameters())


def param_count(cfg: ModelConfig) -> int:
    """Closed-form parameter count, tested against the built model.

    embedding + LM head: 2 V d; final norm: d if RMSNorm.
    per block: attention 2 d^2 tied | 4 d^2 untied (+ 2 d^2 for message 2 when untied);
    FFN d m (tied) | 2 d m (untied or tied-gated) | 3 d m (untied gated);
    norms d (parallel) or 2 d (sequential) if RMSNorm, else 0.
    blocks: n_layers if untie_layerwise_weights else 1.
    plus the residual variant's connections (``residual_extra_params``, 0 for baseline).
    """
    d, m, V = cfg.d_model, cfg.ffn_hidden, cfg.vocab_size
    attn = 4 * d * d if cfg.untie_attn_weights else 2 * d * d
    if cfg.untie_attn_weights and not cfg.use_single_message_attn:
        attn += 2 * d * d
    ffn = d * m * (1 + int(cfg.use_gated_ffn) + int(cfg.untie_ffn_weights))
    norms = d * (2 if cfg.use_ffn_after_attn else 1) if cfg.use_rms_norm else 0
    n_blocks = cfg.n_layers if cfg.untie_layerwise_weights else 1
    backbone = 2 * V * d + (d if cfg.use_rms_norm else 0) + n_blocks * (attn + ffn + norms)
    return backbone + residual_extra_params(cfg)


def flops_per_token(cfg: ModelConfig) -> float:
    """Training FLOPs per token (forward + backward): 6 N + 12 L T d n_msg + the variant's extra.

    The README's convention (bench/train_throughput.py; PaLM's appendix B, Chowdhery et al. 2022,
    https://arxiv.org/abs/2204.02311): N counts the weights applied per token outside the
    embedding and the LM head (norm gains included, as the bench counts n_params - 2 V d), once
    per layer application; 12 L T d is the attention scores and values at the full context T =
    seq_len, doubled when each head sends two messages. Per application, the applied matmul
    weights are attention 4 d^2 untied | 3 d^2 tied (V = K needs no matmul, W_O = W_Q^T does),
    message 2 + 2 d^2 untied | + d^2 tied; FFN (2 + gated) d m (a tied W^T is still a matmul);
    norms as in param_count. For the all-on decoder, N = param_count - 2 V d. The variant's extra
    work is ``residual_extra_flops`` (its docstring gives each formula).
    """
    d, m, L, T = cfg.d_model, cfg.ffn_hidden, cfg.n_layers, cfg.seq_len
    two_messages = not cfg.use_single_message_attn
    attn = (4 if cfg.untie_attn_weights else 3) * d * d
    if two_messages:
        attn += (2 if cfg.untie_attn_weights else 1) * d * d
    ffn = (2 + int(cfg.use_gated_ffn)) * d * m
    norms = d * (2 if cfg.use_ffn_after_attn else 1) if cfg.use_rms_norm else 0
    applied = L * (attn + ffn + norms) + (d if cfg.use_rms_norm else 0)
    attention = 12 * L * T * d * (2 if two_messages else 1)
    return float(6 * applied + attention) + residual_extra_flops(cfg)


def param_count_table(base: ModelConfig):
    """n_params of all 1024 switch configs at ``base``'s size (pandas DataFrame, closed form)."""
    import itertools

    import pandas as pd

    from ptlab.models.config import SWITCHES

    rows = []
    for bits in itertools.product([False, True], repeat=len(SWITCHES)):
        sw = dict(zip(SWITCHES, bits, strict=True))
        rows.append({**sw, "n_params": param_count(base.replace(**sw))})
    return pd.DataFrame(rows)


# --- closed-form counts ----------------------------------------------------------------------


def residual_extra_params(cfg: ModelConfig) -> int:
    """Connection parameters of ``cfg.residual`` (closed forms, tested against the built model).

    L layers, d width, T = seq_len, P = L(L+1)/2 (the pairs i <= m):
      baseline, V1, v2_m1, v2_m2, v3_m1, v3_m2, v3_m3_1, v3_m4_1, v3_m1_r, v4_m1..v4_m3: 0
      v2_m3, v3_m3_2, v3_m4_2: theta_m in R^m for m = 2..L: P - 1
      v4_m4: a_m, b_m: 2 L;  v4_m5, v4_m7: rho_{m,i}: P;  v4_m6: rho and b: 2 P
      v4_m1a: P T^2;  v4_m1b, v4_m1c: P T;  v4_c: L T
      v4_m1d, v4_m1e: sum_{n=1..L} (d n + n^2 + n) = (d + 1) P + L(L+1)(2L+1)/6;  v4_d: L (d + 2)
      denseformer: sum_{i=1..L} (i + 1) = L(L+3)/2
      mudd: sum_{i=1..L} (d k_i + k_i^2 + k_i), k_i = S_i (i + 1), S_i = 4 (1 after block L)
    """
    L, d, T, name = cfg.n_layers, cfg.d_model, cfg.seq_len, cfg.residual
    P = L * (L + 1) // 2
    if name in SOFTMAX_MIXED:
        return P - 1
    counts = {
        "v4_m4": 2 * L,
        "v4_m5": P,
        "v4_m6": 2 * P,
        "v4_m7": P,
        "v4_m1a": P * T * T,
        "v4_m1b": P * T,
        "v4_m1c": P * T,
        "v4_c": L * T,
        "v4_m1d": (d + 1) * P + L * (L + 1) * (2 * L + 1) // 6,
        "v4_d": L * (d + 2),
        "denseformer": L * (L + 3) // 2,
    }
    counts["v4_m1e"] = counts["v4_m1d"]
    if name == "mudd":
        ks = [mudd_streams(i, L) * (i + 1) for i in range(1, L + 1)]
        return sum(d * k + k * k + k for k in ks)
    return counts.get(name, 0)


def residual_trainable_params(cfg: ModelConfig) -> int:
    """The connection parameters that can ever receive a gradient (``residual_extra_params``
    minus those that never can), tested against the gradients themselves:

    * 1A's T x T matrices act through the causal mask, so only the lower triangle trains, and
      not its entry (0, 0): query 0 sees key 0 alone, a softmax over one logit is constant.
      P (T (T + 1) / 2 - 1) of P T^2 train.
    * 1C and v4_c weight whole query rows; row 0 is that one-logit softmax: P (T - 1), L (T - 1).
    * v4_m4's b_1 multiplies ln 1 = 0: 2 L - 1.
    * The generators' W1 get no gradient at step 0 only (W2 = 0), so they count.
    """
    L, T, name = cfg.n_layers, cfg.seq_len, cfg.residual
    P = L * (L + 1) // 2
    never = {
        "v4_m1a": P * (T * T - (T * (T + 1) // 2 - 1)),
        "v4_m1c": P,
        "v4_c": L,
        "v4_m4": 1,
    }
    return residual_extra_params(cfg) - never.get(name, 0)


def residual_extra_flops(cfg: ModelConfig) -> float:
    """Training FLOPs per token that ``cfg.residual`` adds to the baseline's (forward + backward).

    Convention of the baseline formula (flops_per_token): backward = 2 x forward, so
    a multiply-add costs 6 FLOPs per token; every query sees T = seq_len keys; H heads, P =
    L(L+1)/2. Counted: matmuls, score-sized work (H T entries per token per layer) and the
    learned or generated depth mixes of d-vectors (6 d per term); ignored, as the baseline
    formula ignores residual adds, norms and softmax: the fixed d-sized sums (V1, v2_m1, v2_m2,
    V3's plain and 1/m sums) and all other O(d) elementwise work.
      V3 attention site (m2, m4_1, m4_2): L(L-1)/2 recomputed a^_i, each 6 (2 d^2 + T d)
        (W_V, W_O, P V); MLP site (m1, m3_1, m3_2): each f^_i also its MLP, + 6 (3 d d_ff)
      softmax-weighted mixes (v2_m3, v3_m3_2, v3_m4_2): 6 d (P - 1)
      V4 running sum (m1..m4): 3 H T (L - 1) (one add per entry and layer after the first)
      V4 pairwise scales (m5..m7): 3 H T L(L-1) (a multiply and an add per extra source)
      V4 token weights (1A..1E): 3 H T L^2 (a weight multiply per source, the adds);
        v4_c, v4_d: 3 H T L; generators: 6 (d n + n^2) per layer with n outputs
      denseformer: 6 d L(L+3)/2 (the alpha mixes)
      mudd: 6 sum_i (d k_i + k_i^2) (generators) + 6 d sum_i k_i (stream mixes), k_i as in
        residual_extra_params
    """
    L, d, T, H, name = cfg.n_layers, cfg.d_model, cfg.seq_len, cfg.n_heads, cfg.residual
    P, pairs = L * (L + 1) // 2, L * (L - 1) // 2
    recompute_attn = 6 * (2 * d * d + T * d)
    if name in DEPTH_SITES and family(name) == "v3":
        site, _ = DEPTH_SITES[name]
        per_pair = recompute_attn + (18 * d * cfg.ffn_hidden if site == "mlp" else 0)
        return float(pairs * per_pair + (6 * d * (P - 1) if name in SOFTMAX_MIXED else 0))
    if name in SOFTMAX_MIXED:  # v2_m3
        return float(6 * d * (P - 1))
    if name in LAYER_SCALED:
        return float(3 * H * T * (L - 1))
    if name in PAIR_SCALED:
        return float(3 * H * T * L * (L - 1))
    if name in TOKEN_WEIGHTS:
        return float(_token_weight_flops(cfg))
    if name == "denseformer":
        return float(6 * d * L * (L + 3) // 2)
    if name == "mudd":
        ks = [mudd_streams(i, L) * (i + 1) for i in range(1, L + 1)]
        return float(sum(6 * (d * k + k * k) + 6 * d * k for k in ks))
    return 0.0


def _token_weight_flops(cfg: ModelConfig) -> int:
    """V4 token weights: the weight multiplies and source adds, plus the generators' matmuls."""
    L, d, T, H, name = cfg.n_layers, cfg.d_model, cfg.seq_len, cfg.n_heads, cfg.residual
    current = name in CURRENT_ONLY
    flops = 3 * H * T * (L if current else L * L)
    if TOKEN_WEIGHTS[name].endswith("generated"):
        ns = [1] * L if current else list(range(1, L + 1))
        flops += sum(6 * (d * n + n * n) for n in ns)
    return flops
