"""Cross-layer residual variants of the Llama decoder: V1-V4 of Note 3, DenseFormer, MUDDFormer.

Contract. ``ResidualLM(cfg)`` is the all-on PTLM (pre-RMSNorm, RoPE on q and k, SwiGLU, untied
LM head, no biases) with explicit attention (logits -> mask -> softmax -> @ v, since V3 and V4
need the probabilities and the logits) and the cross-layer connections named by
``cfg.residual`` (a name in ``config.RESIDUALS``). The backbone has PTLM's parameter names, so
``variant.load_state_dict(ptlm.state_dict(), strict=False)`` fills it, and PTLM's init: under the
same ``torch.manual_seed`` the backbone weights equal PTLM's bit for bit. The connection
parameters live under ``connections.``, are initialised after the backbone and carry
``p._no_weight_decay = True``. Note 3 is in book/en/notes.md; tested in tests/test_residual.py.

Notation (layers m = 1..L in the formulas; the code's layer index is k = m - 1, and source i in a
formula is index i - 1, except that source 0, the embedding, is index 0 of a list of states).
u_m block input, a_m attention output, y_m MLP input, f_m MLP output, e = u_1 the embedding,
N the RMSNorm of the sublayer. Baseline: a_m = Attn_m(N(u_m)); y_m = u_m + a_m;
f_m = MLP_m(N(y_m)); u_{m+1} = y_m + f_m; logits = head(N(u_{L+1})).

Decisions (each with a test where it can be tested):

* Every variant, the baseline included, runs the same explicit attention, so timings compare
  one code path; the explicit baseline equals PTLM's SDPA baseline to float rounding. The causal
  mask is a [T, T] matrix of 0 and -inf added to the finished logits (faster than masked_fill
  on the CPU, and exact: changing a later token leaves earlier logits bit-identical).
* V1 ("replace the residual at the site by the sum of earlier outputs"): M1 attention site
  y_m = a_m + sum_{i<m} a_i (u_m dropped); M2 the same with the sum divided by (m - 1); M3 MLP
  site u_{m+1} = f_m + sum_{i<m} f_i (attention site standard); M4 = M3 with / (m - 1); M5 both
  sites add the attention sum (y_m = a_m + sum_{i<m} a_i, u_{m+1} = f_m + sum_{i<m} a_i); M6
  both add the MLP sum (y_m = a_m + sum_{i<m} f_i, u_{m+1} = f_m + sum_{i<m} f_i); M7 = M1 at the
  attention site and M3 at the MLP site. M5-M7 are not divided (the note says so).
* V1 literal reading at m = 1: the empty sum is 0 and 1/(m - 1) is not applied, so the embedding
  leaves the stream after layer 1. The ``_embed`` reading makes the embedding source 0
  (a_0 = f_0 = e), sums run over 0 <= i < m and M2/M4 divide by m (the number of sources).
* V2: M1 u_{m+1} = y_m + (1/m) sum_{i<=m} f_i; M2 y_m = u_m + (1/m) sum_{i<=m} a_i; M3
  u_{m+1} = y_m + sum_{i<=m} softmax(theta_m)_i f_i. The note's "layers 0..m" is 0-indexed code:
  layer index k has k + 1 weights over the MLP outputs of layers 0..k; the embedding is not a
  source; layer index 0 has the single weight 1 (no parameter). theta = 0 at init, so M3 starts as
  M1, not as the baseline (softmax weights cannot be one-hot).
* V3 keeps layer i's attention probabilities P_i [B, H, T, T] (computed at layer i from u_i) and
  its W_V, W_O, and recomputes on the current input: a^_i(u_m) = O_i(P_i V_i(N1_i(u_m))) and
  f^_i(u_m) = MLP_i(N2_i(u_m + a^_i(u_m))) (no final residual); for i = m these are the layer's
  own a_m and f_m. M1: u_{m+1} = y_m + sum_{i<=m} f^_i(u_m); M2: y_m = u_m + sum_{i<=m} a^_i(u_m);
  M3.1 / M4.1 weight the MLP / attention sum by 1/m, M3.2 / M4.2 by softmax(theta_m), theta_m in
  R^m, zero init (as V2-M3, no parameter at m = 1). The residual is kept (the note says "modify
  the residual at the MLP site to the sum of the recomputed outputs", which also reads as
  "replace"); ``v3_m1_r`` is that other reading of M1, as V1 replaces:
  u_{m+1} = f_m + sum_{i<m} f^_i(u_m) (y_m dropped; at m = 1 the stream is f_1 alone).
* V4: raw scores R_i = RoPE(q_i) RoPE(k_i)^T (per head, from layer i's own input, unscaled) are
  carried unmasked; Z_m = sum_{i<=m} s_{m,i} (W_{m,i} * R_i) and P_m = softmax(mask(Z_m)): the
  causal mask is applied once, after weighting and summing, so no -inf is ever multiplied.
* V4 scalings (d_k = head size): M1 s = 1/sqrt(d_k) (RealFormer's running sum); M2
  1/sqrt(d_k m); M3 1/(m sqrt(d_k)); M4 s = d_k^(-a_m) m^(-b_m), a_m, b_m unconstrained, init 0.5
  and 1 (starts as M3; b_1 multiplies ln 1 = 0 and never gets a gradient, kept so a and b are
  both [L]); M5 s_i = 1/(a_{m,i} sqrt(d_k)); M6 s_i = 1/(a_{m,i} d_k^(b_{m,i})), b init 0.5; M7
  s_i = 1/a_{m,i}; a = exp(rho) > 0 with rho init 0 (M5, M6) or ln sqrt(d_k) (M7), so M5-M7
  start as M1. M1-M4 keep one running sum of R (s depends on m only).
* V4 token weights on top of M1 (W = 1 at init, so each starts as M1): 1A a T x T matrix per
  (m, i) shared across heads (only its lower triangle matters; L(L+1)/2 T^2 parameters); 1B a
  per-key vector [T]; 1C a per-query vector [T]; 1D per-query weights generated from X = u_m,
  A_m = GELU(RMSNormNoScale(X) W1) W2 + b, A_m [B, T, m] (column i for source i), W1 [d, m],
  W2 [m, m], b [m]; 1E the same per key (key j's weight from X at position j, causal as j <= the
  query). Generators use MUDD's init: W1 ~ N(0, 1/d), W2 = 0, b = 1 (so W1 gets no gradient at
  step 0, only from step 1 on). Weights are shared across heads.
* V4 experiment 3: v4_c applies 1C's weights to the current layer's logits only (no
  accumulation, Z_m = w_m *rows R_m / sqrt(d_k)); v4_d 1D's generator for the current layer only
  (W1 [d, 1], W2 [1, 1], b [1]). Both start as the baseline.
* DenseFormer (Pagliardini et al. 2024, https://arxiv.org/abs/2402.02622): X_0 = e, X_i =
  Block_i(Y_{i-1}) (the baseline block), Y_0 = X_0, Y_i = sum_{j<=i} alpha_{i,j} X_j with
  alpha_{i,i} = 1 and the others 0 at init (the baseline exactly); the head reads N(Y_L); L(L+3)/2
  scalars stored as one 1-D parameter per block.
* MUDDFormer (Xiao et al. 2025, https://arxiv.org/abs/2502.12170), multiway dynamic dense: after
  block i, for each stream s in (Q, K, V, R) (only R after the last block, which feeds the head),
  A^s [B, T, i+1] = a^s + GELU(RMSNormNoScale(X_i) W1) W2^s, one W1 [d, S(i+1)] shared by the
  S streams of the boundary and W2 [S(i+1), S(i+1)] split into streams (the reference code's
  layout, without its round-to-64 or wider last generator); X^s = sum_j A^s_j X_j. Block i+1
  takes q from N1(X^Q), k from N1(X^K), v from N1(X^V) (the same norm), y = X^R + o_proj(attn),
  out = y + MLP(N2(y)). Init W1 ~ N(0, 1/d), W2 = 0, a^s one-hot on j = i: the baseline exactly.
* connection_weights() reports the learned (or fixed) weights detached on the CPU; for the
  generated weights (1D, 1E, v4_d, MUDD) it reports the input-independent part (the bias b or
  a^s), which is the weight wherever the generator's output is zero, as at init.
* The RMSNormNoScale of the generators uses cfg.norm_eps, like the backbone's norms.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ptlab.models.config import SWITCHES, ConfigError, ModelConfig
from ptlab.models.connections import (
    CURRENT_ONLY,
    DEPTH_SITES,
    LAYER_SCALED,
    MUDD_STREAMS,
    PAIR_SCALED,
    REPLACE,
    SOFTMAX_MIXED,
    TOKEN_WEIGHTS,
    V1_SITES,
    Connections,
    family,
)
from ptlab.models.model import FFN, Norm, Rope, init_backbone

# --- pieces ----------------------------------------------------------------------------------


def causal_mask(T: int, device=None) -> torch.Tensor:
    """[T, T]: 0 where key j <= query i, -inf where j > i. It is added to the logits, never
    multiplied (adding -inf is exact; masked_fill is slower on the CPU)."""
    later = ~torch.tril(torch.ones(T, T, dtype=torch.bool, device=device))
    return torch.zeros(T, T, device=device).masked_fill(later, float("-inf"))


def causal_softmax(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """softmax over keys of logits z [B, H, T, T] under the additive causal ``mask``."""
    return (z + mask).softmax(-1)


def depth_sum(terms: list[torch.Tensor], weights) -> torch.Tensor:
    """sum_j w_j terms_j; ``weights`` None (all 1), a float (all equal) or a tensor [len(terms)]."""
    if weights is None or isinstance(weights, float):
        total = sum(terms)
        return total if weights is None else weights * total
    return sum(w * t for w, t in zip(weights, terms, strict=True))


class ExplicitAttention(nn.Module):
    """Multi-head attention in pieces: raw scores, values, and probabilities @ values -> o_proj.

    The parameter names and creation order are PTLM's untied single-message Attention's.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.n_heads, self.head_dim = cfg.n_heads, cfg.head_dim
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # [B, H, T, r]

    def scores(self, hq: torch.Tensor, hk: torch.Tensor, rope: Rope) -> torch.Tensor:
        """R = RoPE(q) RoPE(k)^T per head, unscaled and unmasked."""
        q, k = rope(self._heads(self.q_proj(hq))), rope(self._heads(self.k_proj(hk)))
        return q @ k.transpose(-1, -2)  # [B, H, T, T]

    def values(self, h: torch.Tensor) -> torch.Tensor:
        return self._heads(self.v_proj(h))  # [B, H, T, r]

    def combine(self, p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        o = p @ v  # [B, H, T, r]
        B, H, T, r = o.shape
        return self.o_proj(o.transpose(1, 2).reshape(B, T, H * r))  # [B, T, d]


class ResidualBlock(nn.Module):
    """PTLM's all-on Block (same names, same creation order), exposed sublayer by sublayer."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1, self.attn, self.ffn = Norm(cfg), ExplicitAttention(cfg), FFN(cfg)
        self.norm2 = Norm(cfg)

    def attention(self, u, rope, mask, scale) -> tuple[torch.Tensor, torch.Tensor]:
        """a = Attn(N1(u)) [B, T, d] and its probabilities P [B, H, T, T]."""
        h = self.norm1(u)
        p = causal_softmax(self.attn.scores(h, h, rope) * scale, mask)
        return self.attn.combine(p, self.attn.values(h)), p

    def mlp(self, y: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.norm2(y))

    def forward(self, u, rope, mask, scale) -> torch.Tensor:
        """The baseline block: y = u + a, u' = y + f."""
        y = u + self.attention(u, rope, mask, scale)[0]
        return y + self.mlp(y)

    def multiway(self, streams, rope, mask, scale) -> torch.Tensor:
        """MUDD's block: q, k, v from N1 of their own streams, the residual from X^R."""
        xq, xk, xv, xr = streams
        scores = self.attn.scores(self.norm1(xq), self.norm1(xk), rope)  # [B, H, T, T]
        p = causal_softmax(scores * scale, mask)
        y = xr + self.attn.combine(p, self.attn.values(self.norm1(xv)))
        return y + self.mlp(y)


# --- the model -------------------------------------------------------------------------------


class ResidualLM(nn.Module):
    """Embedding -> L blocks with ``cfg.residual``'s cross-layer connections -> N -> LM head."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        off = [s for s in SWITCHES if not getattr(cfg, s)]
        if off or cfg.objective != "causal":
            raise ConfigError(
                "ResidualLM needs every switch on and objective causal (the Llama decoder); "
                f"off: {', '.join(off) or 'none'}, objective: {cfg.objective}"
            )
        self.cfg, self.residual, self.family = cfg, cfg.residual, family(cfg.residual)
        # 1) the backbone, built in PTLM's order so that it draws the same random numbers
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(ResidualBlock(cfg) for _ in range(cfg.n_layers))
        self.norm = Norm(cfg)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.rope = Rope(cfg.head_dim, cfg.seq_len, cfg.rope_theta)
        self.scale = cfg.head_dim**-0.5
        # 2) the connections (no random numbers drawn until reset_parameters)
        self.connections = Connections(cfg)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PTLM's backbone initialisation (``init_backbone``), then the connections."""
        init_backbone(self)
        self.connections.reset_parameters()  # after any backbone re-init (DenseFormer's warning)

    def forward(self, tokens: torch.Tensor, head_gates: torch.Tensor | None = None):
        if head_gates is not None:
            raise ValueError("head_gates are not supported by ResidualLM; pass None")
        B, T = tokens.shape
        if T > self.cfg.seq_len:
            raise ValueError(f"sequence length {T} exceeds the model's seq_len={self.cfg.seq_len}")
        e = self.embed(tokens)  # [B, T, d]
        mask = causal_mask(T, tokens.device)  # [T, T]
        u = getattr(self, f"_stream_{self.family}")(e, mask)  # [B, T, d]
        return self.lm_head(self.norm(u))  # [B, T, V]

    # --- baseline, V1, V2 --------------------------------------------------------------------

    def _stream_baseline(self, e, mask):
        u = e
        for block in self.blocks:
            u = block(u, self.rope, mask, self.scale)
        return u

    def _stream_v1(self, e, mask):
        """V1: y_m = a_m + H_m and/or u_{m+1} = f_m + H'_m, H = sum_{i<m} a_i or f_i (V1_SITES).

        M2/M4 divide H by the number of earlier sources; literal: sources 1..m-1 (none at m = 1),
        _embed: sources 0..m-1 with a_0 = f_0 = e.
        """
        att, mlp, divide = V1_SITES[self.residual[4]]  # "v1_mK..." -> method K
        embed = self.residual.endswith("_embed")
        sums = {"a": e, "f": e} if embed else {"a": 0.0, "f": 0.0}  # sums over earlier sources
        n = int(embed)  # the number of earlier sources

        def history(src: str):
            return sums[src] / n if divide and n else sums[src]

        u = e
        for block in self.blocks:
            a = block.attention(u, self.rope, mask, self.scale)[0]
            y = u + a if att is None else a + history(att)
            f = block.mlp(y)
            u = y + f if mlp is None else f + history(mlp)
            sums, n = {"a": sums["a"] + a, "f": sums["f"] + f}, n + 1
        return u

    def _depth_weights(self, k: int, weighting: str):
        """Weights of the k + 1 terms at layer index k: None (sum), 1/(k+1), or softmax(theta)."""
        if weighting == "sum" or (weighting == "softmax" and k == 0):
            return None
        if weighting == "mean":
            return 1.0 / (k + 1)
        return torch.softmax(self.connections.theta[k - 1], dim=0)  # [k + 1]

    def _stream_v2(self, e, mask):
        """V2: M1 u_{m+1} = y_m + (1/m) sum_{i<=m} f_i; M2 y_m = u_m + (1/m) sum_{i<=m} a_i;
        M3 u_{m+1} = y_m + sum_{i<=m} softmax(theta_m)_i f_i."""
        site, weighting = DEPTH_SITES[self.residual]
        u, outs = e, []  # outs: a_i (attention site) or f_i (MLP site) of layers i <= m
        for k, block in enumerate(self.blocks):
            a = block.attention(u, self.rope, mask, self.scale)[0]
            if site == "attn":
                outs.append(a)
                a = depth_sum(outs, self._depth_weights(k, weighting))
            y = u + a
            f = block.mlp(y)
            if site == "mlp":
                outs.append(f)
                f = depth_sum(outs, self._depth_weights(k, weighting))
            u = y + f
        return u

    # --- V3 ----------------------------------------------------------------------------------

    def _recomputed_attention(self, i: int, p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """a^_i(u) = O_i(P_i V_i(N1_i(u))) with layer i's kept probabilities P_i."""
        block = self.blocks[i]
        return block.attn.combine(p, block.attn.values(block.norm1(u)))  # [B, T, d]

    def _recomputed_mlp(self, i: int, p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """f^_i(u) = MLP_i(N2_i(u + a^_i(u))), no final residual."""
        return self.blocks[i].mlp(u + self._recomputed_attention(i, p, u))  # [B, T, d]

    def _stream_v3(self, e, mask):
        """V3: earlier layers recomputed on the current input u_m with their kept P_i.

        M1 (MLP site): y_m = u_m + a_m, u_{m+1} = y_m + sum_{i<=m} c_i f^_i(u_m);
        M2 (attention site): y_m = u_m + sum_{i<=m} c_i a^_i(u_m), u_{m+1} = y_m + f_m;
        c = 1 (M1, M2), 1/m (M3.1, M4.1) or softmax(theta_m) (M3.2, M4.2); the i = m terms are
        the layer's own a_m and f_m. The replace reading (REPLACE): u_{m+1} = sum_{i<=m} f^_i(u_m).
        """
        site, weighting = DEPTH_SITES[self.residual]
        recompute = self._recomputed_attention if site == "attn" else self._recomputed_mlp
        u, kept = e, []  # kept: P_i [B, H, T, T] of layers i < m
        for k, block in enumerate(self.blocks):
            a, p = block.attention(u, self.rope, mask, self.scale)
            earlier = [recompute(i, p_i, u) for i, p_i in enumerate(kept)]
            c = self._depth_weights(k, weighting)
            if site == "attn":
                y = u + depth_sum([*earlier, a], c)
                u = y + block.mlp(y)
            else:
                y = u + a
                mixed = depth_sum([*earlier, block.mlp(y)], c)
                u = mixed if self.residual in REPLACE else y + mixed
            kept.append(p)
        return u

    # --- V4 ----------------------------------------------------------------------------------

    def _stream_v4(self, e, mask):
        """V4: Z_m = sum_{i<=m} s_{m,i} (W_{m,i} * R_i), P_m = softmax(mask(Z_m)), a_m = P_m V_m.

        R_i [B, H, T, T] raw scores from layer i's own input; the mask comes after the sum.
        """
        u, raws, total = e, [], None
        for k, block in enumerate(self.blocks):
            h = block.norm1(u)
            r = block.attn.scores(h, h, self.rope)  # R_m [B, H, T, T]
            if self.residual in LAYER_SCALED:  # one running sum (RealFormer)
                total = r if total is None else total + r
                z = self._v4_layer_scale(k) * total  # Z_m [B, H, T, T]
            else:
                raws = [r] if self.residual in CURRENT_ONLY else [*raws, r]
                z = self._v4_weighted_logits(k, raws, u)  # Z_m [B, H, T, T]
            a = block.attn.combine(causal_softmax(z, mask), block.attn.values(h))
            y = u + a
            u = y + block.mlp(y)
        return u

    def _v4_layer_scale(self, k: int):
        """M1 1/sqrt(d_k); M2 1/sqrt(d_k m); M3 1/(m sqrt(d_k)); M4 d_k^(-a_m) m^(-b_m)."""
        m, d_k = k + 1, self.cfg.head_dim
        if self.residual == "v4_m4":
            c = self.connections
            return torch.exp(-c.scale_a[k] * math.log(d_k) - c.scale_b[k] * math.log(m))
        return {"v4_m1": 1.0, "v4_m2": m**-0.5, "v4_m3": 1.0 / m}[self.residual] * self.scale

    def _v4_pair_scales(self, k: int) -> torch.Tensor:
        """s_{m,i} for i <= m [m]: M5 1/(a sqrt(d_k)), M6 1/(a d_k^b), M7 1/a, a = exp(rho)."""
        c, log_dk = self.connections, math.log(self.cfg.head_dim)
        rho = c.rho[k]
        if self.residual == "v4_m5":
            return torch.exp(-rho) * self.scale
        if self.residual == "v4_m6":
            return torch.exp(-rho - c.expo[k] * log_dk)
        return torch.exp(-rho)

    def _v4_weighted_logits(self, k: int, raws: list[torch.Tensor], u: torch.Tensor):
        """sum_j s_j R_j (M5-M7), or (1/sqrt(d_k)) sum_j W_j * R_j (token weights)."""
        if self.residual in PAIR_SCALED:
            return depth_sum(raws, self._v4_pair_scales(k))
        weights = self._v4_token_weights(k, u, raws[0].shape[-1])
        return self.scale * sum(w * r for w, r in zip(weights, raws, strict=True))

    def _v4_token_weights(self, k: int, u: torch.Tensor, T: int) -> list[torch.Tensor]:
        """W_{m,j} for each source j of layer index k, each broadcastable to [B, H, T, T]."""
        kind, c = TOKEN_WEIGHTS[self.residual], self.connections
        if kind == "matrix":
            return list(c.token_w[k][:, :T, :T])  # [T, T] each (query, key)
        if kind == "key":
            return list(c.token_w[k][:, :T])  # [T] each, over keys
        if kind == "query":
            return list(c.token_w[k][:, :T, None])  # [T, 1] each, over queries
        A = c.gen[k](u)  # [B, T, n]: position t's weight for each source
        if kind == "query_generated":
            return list(A[:, None, :, :, None].movedim(3, 0))  # [B, 1, T, 1] each
        return list(A[:, None, None, :, :].movedim(4, 0))  # [B, 1, 1, T] each (key_generated)

    # --- DenseFormer, MUDD -------------------------------------------------------------------

    def _stream_denseformer(self, e, mask):
        """X_0 = e, X_i = Block_i(Y_{i-1}), Y_i = sum_{j<=i} alpha_{i,j} X_j; the head reads Y_L."""
        states, y = [e], e  # X_0..X_i, each [B, T, d]
        for i, block in enumerate(self.blocks):
            states.append(block(y, self.rope, mask, self.scale))
            y = depth_sum(states, self.connections.alpha[i])  # Y_{i+1} [B, T, d]
        return y

    def _stream_mudd(self, e, mask):
        """After block i: A^s = a^s + GELU(RMSNormNoScale(X_i) W1) W2^s, X^s = sum_j A^s_j X_j for
        s in (Q, K, V, R); block i+1 reads q, k, v from X^Q, X^K, X^V and adds to X^R."""
        states, streams = [e], (e,) * MUDD_STREAMS
        for i, block in enumerate(self.blocks):
            states.append(block.multiway(streams, self.rope, mask, self.scale))  # X_{i+1}
            gen = self.connections.gen[i]
            A = gen(states[-1]).unflatten(-1, (gen.streams, gen.sources))  # [B, T, S, i + 2]
            streams = torch.einsum("btsn,nbtd->sbtd", A, torch.stack(states))  # [S, B, T, d]
        return streams[0]  # after the last block, only X^R

    # --- the learned weights -----------------------------------------------------------------

    @torch.no_grad()
    def connection_weights(self) -> dict[str, torch.Tensor]:
        """The cross-layer weights, plottable (CPU, detached; rows targets, columns sources).

        v2_m3, v3_m3_2 ("mlp") and v3_m4_2 ("attn"): [L, L] softmax weights, row k over layers
        0..k; denseformer "alpha" [L, L+1], row i-1 = Y_i over X_0..X_i; v4_m4..v4_m7
        "logit_scale" [L, L] s_{m,i}; 1A-1C, v4_c "token_weight_mean" [L, L] (1A: over the lower
        triangle); 1D, 1E, v4_d "token_weight_bias" [L, L]; mudd "bias_q", "bias_k", "bias_v",
        "bias_r" [L, L+1] (row i-1: a^s after block i). NaN where undefined; {} when fixed.
        """
        name, c, L = self.residual, self.connections, self.cfg.n_layers
        if name in SOFTMAX_MIXED:
            rows = [torch.ones(1), *(torch.softmax(t, 0) for t in c.theta)]
            return {"attn" if name == "v3_m4_2" else "mlp": _lower(rows, L)}
        if name == "denseformer":
            return {"alpha": _lower(list(c.alpha), L + 1)}
        if name == "v4_m4":
            rows = [self._v4_layer_scale(k).expand(k + 1) for k in range(L)]
            return {"logit_scale": _lower(rows)}
        if name in PAIR_SCALED:
            return {"logit_scale": _lower([self._v4_pair_scales(k) for k in range(L)], L)}
        if name == "mudd":
            return self._mudd_biases()
        if name in TOKEN_WEIGHTS:
            return self._token_weight_summary()
        return {}

    def _token_weight_summary(self) -> dict[str, torch.Tensor]:
        c, L, T = self.connections, self.cfg.n_layers, self.cfg.seq_len
        kind = TOKEN_WEIGHTS[self.residual]
        if kind.endswith("generated"):
            key, rows = "token_weight_bias", [g.bias for g in c.gen]
        elif kind == "matrix":
            lower = torch.tril(torch.ones(T, T, dtype=torch.bool))
            key, rows = "token_weight_mean", [w[:, lower].mean(-1) for w in c.token_w]
        else:
            key, rows = "token_weight_mean", [w.mean(-1) for w in c.token_w]
        if self.residual in CURRENT_ONLY:  # one source, the layer itself: the diagonal
            rows = [torch.cat([torch.full((k,), float("nan")), r]) for k, r in enumerate(rows)]
        return {key: _lower(rows, L)}

    def _mudd_biases(self) -> dict[str, torch.Tensor]:
        L = self.cfg.n_layers
        out = {s: torch.full((L, L + 1), float("nan")) for s in ("q", "k", "v", "r")}
        for i, gen in enumerate(self.connections.gen):
            bias = gen.bias.view(gen.streams, gen.sources).cpu()
            names = ("r",) if gen.streams == 1 else ("q", "k", "v", "r")
            for s, row in zip(names, bias, strict=True):
                out[s][i, : gen.sources] = row
        return {f"bias_{s}": w for s, w in out.items()}


def _lower(rows: list[torch.Tensor], width: int | None = None) -> torch.Tensor:
    """Stack rows of growing length into a NaN-padded [len(rows), width] matrix on the CPU."""
    width = width or len(rows)
    out = torch.full((len(rows), width), float("nan"))
    for k, row in enumerate(rows):
        out[k, : row.numel()] = row.detach().float().cpu()
    return out
