"""The PT <-> Llama model family, one module per idea (read top to bottom).

Choices that the PT paper (Wu & Tu 2023, https://arxiv.org/abs/2311.15211) and the lab's Note 1
(book/en/notes.md) leave open, made once here and tested in tests/test_model.py:

* Norm (``use_rms_norm``). Off: the "scaled softmax" N(s) = d * softmax(s) over features (mean
  entry 1, no gain); on: RMSNorm with gain. Scores use tau = 1/sqrt(head_dim) on both sides, so
  the switch changes the normalisation and not also the temperature (option (b) of the spec;
  a deviation from PT, which scales scores by d). The final norm before the LM head is the same N.
* Position 0 under the strict mask (``no_mask_diagonal`` off): a row with no allowed key (row 0
  in causal mode) may attend to itself only; this equals the standard mask on that row.
* Second message (``use_single_message_attn`` off), causal form ("dependent pointer"):
  B[i, j] = softmax_{j in M(i)}(tau * k~_i . q~_j), values q (tied) with output W_K^T; a second
  leak-free attention with q and k swapped. With untied attention weights message 2 has its own
  W_V2, W_O2 (6 d^2 attention parameters per block).
* VO-RoPE (``no_vo_rope`` off): values are rotated at their source position and the aggregated
  output is rotated back by the destination position; with tied V = K the value is the
  *unrotated* k, rotated once here.
* PT-style FFN (``use_gated_ffn`` off): FFN(x) = softmax(x W) W_down, attention over m memory
  slots (mean-field over a categorical latent); tied (``untie_ffn_weights`` off) W_down = W^T.
  Gated: SwiGLU, whose tied form is (silu(x W_g) * x W) W^T (the gate stays free). m is fixed at
  Llama's 8d/3 rule for every config (not matched for parameters).
* Residual off (``use_std_residual`` off): s' = e + messages (the embedding is re-injected);
  with the sequential FFN, u = e + attn and s' = u + FFN(N2(u)) (e is not injected twice).
* Shared layers (``untie_layerwise_weights`` off): one block applied n_layers times.
* Embedding and LM head are untied in every config; no biases anywhere. Init: linear weights
  N(0, init_std), embedding N(0, 1) (torchtitan's Llama), norm gains 1.
* Head gates: ``head_gates`` of shape [n_layers * n_heads] or [B, n_layers * n_heads] scale each
  head's output (both messages of the head) before the output projection; one gate per head
  per layer *application*, so shared-weight models still have n_layers * n_heads gates.
* Speed without new maths (issue 21): the projections of x are one matmul over the stacked
  weights ([W_Q; W_K; W_V; W_V2], [W_gate; W_up]), heads are taken by unbind, and RMSNorm,
  SwiGLU and RoPE run the fused CPU kernels of ``models/fused.py`` where they apply (float32 on
  the CPU), else the eager formulas; both give the same numbers to float rounding
  (tests/test_fused.py compares 20 training steps).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ptlab.models import fused
from ptlab.models.config import ModelConfig

# --- normalisation ---------------------------------------------------------------------------


class Norm(nn.Module):
    """N(s): RMSNorm * gain (transformer side) or d * softmax(s) over features (PT side)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.rms, self.eps = cfg.use_rms_norm, cfg.norm_eps
        if self.rms:
            self.weight = nn.Parameter(torch.ones(cfg.d_model))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        if self.rms:  # gain * s * rsqrt(mean(s^2) + eps)
            return fused.rms_norm(s, self.weight, self.eps)
        return s.shape[-1] * torch.softmax(s, dim=-1)


# --- rotary position embedding ---------------------------------------------------------------


class Rope(nn.Module):
    """RoPE with Llama's rotate-half layout; ``sign=-1`` rotates back (VO-RoPE's output side)."""

    def __init__(self, head_dim: int, max_len: int, theta: float):
        super().__init__()
        inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        ang = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)
        ang = torch.cat([ang, ang], dim=-1)  # [T, head_dim]
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)
        # rotate_half(x) * sin = roll(x, r/2) * [-sin | sin]: with the signs in the table a
        # rotation is two multiplies and an add (the same numbers as the cat form, bit for bit);
        # the inverse rotation is the same with -[-sin | sin]
        half = head_dim // 2
        signed = torch.cat([-ang.sin()[:, :half], ang.sin()[:, half:]], dim=-1)
        self.register_buffer("sin_signed", signed, persistent=False)
        self.register_buffer("sin_back", -signed, persistent=False)

    def forward(self, x: torch.Tensor, sign: float = 1.0) -> torch.Tensor:
        """Rotate x [..., T, head_dim] by its positions (back by them if ``sign`` is -1)."""
        T = x.shape[-2]
        sin, back = (
            (self.sin_signed, self.sin_back) if sign > 0 else (self.sin_back, self.sin_signed)
        )
        if x.dim() == 4:  # [B, H, T, r]: the fused kernel on the [B, T, H, r] view
            return fused.rope(
                x.transpose(1, 2), self.cos[:T], sin[:T], back[:T], x.shape[1]
            ).transpose(1, 2)
        return x * self.cos[:T] + x.roll(x.shape[-1] // 2, -1) * sin[:T]

    def rotate_heads(self, x: torch.Tensor, n_rot: int, sign: float = 1.0) -> torch.Tensor:
        """x [B, T, N, r] (N head rows per position, e.g. q, k and v heads side by side): rows
        n < n_rot rotated by their position (back if ``sign`` is -1), the others as they are."""
        T = x.shape[1]
        sin, back = (
            (self.sin_signed, self.sin_back) if sign > 0 else (self.sin_back, self.sin_signed)
        )
        return fused.rope(x, self.cos[:T], sin[:T], back[:T], n_rot)


# --- attention -------------------------------------------------------------------------------


def attention_mask(T: int, causal: bool, strict: bool, device=None) -> torch.Tensor | None:
    """Allowed (query i, key j) pairs as a bool [T, T] matrix, or None for "causal j <= i"/"all".

    Strict (PT: a word is never its own head) removes the diagonal; a row left with no key may
    attend to itself only (position 0 in causal mode), so no softmax runs over an empty set.
    """
    if not strict:
        return None
    allowed = torch.ones(T, T, dtype=torch.bool, device=device)
    eye = torch.eye(T, dtype=torch.bool, device=device)
    allowed = torch.tril(allowed, -1) if causal else allowed & ~eye
    empty = ~allowed.any(dim=-1)
    allowed[empty, empty] = True
    return allowed


class Attention(nn.Module):
    """One or two attention messages per head, tied (PT) or untied (Llama) weights."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.n_heads, self.head_dim = cfg.n_heads, cfg.head_dim
        self.untied = cfg.untie_attn_weights
        self.two_messages = not cfg.use_single_message_attn
        self.vo_rope = not cfg.no_vo_rope
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        if self.untied:
            self.v_proj = nn.Linear(d, d, bias=False)
            self.o_proj = nn.Linear(d, d, bias=False)
            if self.two_messages:
                self.v2_proj = nn.Linear(d, d, bias=False)
                self.o2_proj = nn.Linear(d, d, bias=False)
        # the projections of x, stacked so that one matmul computes them all
        self.in_names = ("q_proj", "k_proj")
        if self.untied:
            self.in_names += ("v_proj", "v2_proj") if self.two_messages else ("v_proj",)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, d] -> [B, H, T, r]
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)

    def _message(self, q, k, v, rope, mask, causal, gates, w_out) -> torch.Tensor:
        """softmax(q k^T / sqrt(r)) v per head (v already VO-rotated if VO-RoPE is on), the
        output rotated back if on, gated, then projected by w_out."""
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        o = o.transpose(1, 2)  # [B, T, H, r] (SDPA's own memory layout: no copy)
        if self.vo_rope:
            o = rope.rotate_heads(o, self.n_heads, sign=-1.0)
        if gates is not None:
            o = o * gates[:, None, :, None]
        B, T, H, r = o.shape
        return F.linear(o.reshape(B, T, H * r), w_out)

    def forward(self, x, rope, mask, causal, gates=None) -> torch.Tensor:
        B, T, _ = x.shape
        H, r, n = self.n_heads, self.head_dim, len(self.in_names)
        w_in = torch.cat([getattr(self, name).weight for name in self.in_names])  # [n d, d]
        proj = F.linear(x, w_in).view(B, T, n * H, r)  # q, k (v, v2) heads side by side
        # RoPE on q and k; VO-RoPE also rotates the untied values at their source positions
        rotated = rope.rotate_heads(proj, (n if self.vo_rope and self.untied else 2) * H)

        def heads(t: torch.Tensor) -> list[torch.Tensor]:  # unbind: one stack in the backward
            return [h.transpose(1, 2) for h in t.view(B, T, n, H, r).unbind(2)]  # [B, H, T, r]

        rot = heads(rotated)
        qr, kr = rot[0], rot[1]
        if self.untied:  # standard V, O (and V2, O2)
            v, w_o = rot[2], self.o_proj.weight
        else:  # PT: W_V = W_K (the unrotated k as the value; VO-RoPE rotates it: kr), W_O = W_Q^T
            raw = None if self.vo_rope else heads(proj)
            v, w_o = (kr if raw is None else raw[1]), self.q_proj.weight.t()
        out = self._message(qr, kr, v, rope, mask, causal, gates, w_o)
        if self.two_messages:  # dependent pointer: scores k~_i . q~_j, values q, output W_K^T
            if self.untied:
                u, w_o2 = rot[3], self.o2_proj.weight
            else:
                u, w_o2 = (qr if raw is None else raw[0]), self.k_proj.weight.t()
            out = out + self._message(kr, qr, u, rope, mask, causal, gates, w_o2)
        return out


# --- feed-forward ----------------------------------------------------------------------------


class FFN(nn.Module):
    """SwiGLU (Llama) or softmax-over-memory-slots (PT), each tied (W_down = W_up^T) or untied."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d, m = cfg.d_model, cfg.ffn_hidden
        self.gated, self.untied = cfg.use_gated_ffn, cfg.untie_ffn_weights
        self.up_proj = nn.Linear(d, m, bias=False)
        if self.gated:
            self.gate_proj = nn.Linear(d, m, bias=False)
        if self.untied:
            self.down_proj = nn.Linear(m, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gated:  # silu(x W_gate^T) * x W_up^T
            h = fused.swiglu_mlp(x, self.gate_proj.weight, self.up_proj.weight)
        else:
            h = torch.softmax(self.up_proj(x), dim=-1)
        return self.down_proj(h) if self.untied else h @ self.up_proj.weight  # tied: W_up^T


# --- block and model -------------------------------------------------------------------------


class Block(nn.Module):
    """One MFVI iteration / transformer layer: parallel (PT) or sequential (Llama) FFN."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.std_residual, self.sequential = cfg.use_std_residual, cfg.use_ffn_after_attn
        self.norm1, self.attn, self.ffn = Norm(cfg), Attention(cfg), FFN(cfg)
        if self.sequential:
            self.norm2 = Norm(cfg)

    def forward(self, s, e, rope, mask, causal, gates=None) -> torch.Tensor:
        x = self.norm1(s)
        a = self.attn(x, rope, mask, causal, gates)
        base = s if self.std_residual else e  # PT re-injects the embedding (unary potential)
        if self.sequential:
            u = base + a
            return u + self.ffn(self.norm2(u))
        return base + a + self.ffn(x)


def init_backbone(model: nn.Module) -> None:
    """The decoder's initialisation: every Linear N(0, init_std), RMSNorm gains 1, the embedding
    N(0, 1); shared by PTLM and the residual variants so their backbones start bit-identical."""
    for mod in model.modules():
        if isinstance(mod, nn.Linear):
            nn.init.normal_(mod.weight, std=model.cfg.init_std)
        elif isinstance(mod, Norm) and mod.rms:
            nn.init.ones_(mod.weight)
    nn.init.normal_(model.embed.weight, std=1.0)


class PTLM(nn.Module):
    """Embedding -> n_layers block applications -> N -> LM head; logits [B, T, vocab]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        n_blocks = cfg.n_layers if cfg.untie_layerwise_weights else 1
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(n_blocks))
        self.norm = Norm(cfg)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.rope = Rope(cfg.head_dim, cfg.seq_len, cfg.rope_theta)
        self.causal = cfg.objective == "causal"
        self.strict = not cfg.no_mask_diagonal
        self._masks: dict[tuple[int, str], torch.Tensor | None] = {}  # built once per length
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_backbone(self)

    def _gates(self, head_gates: torch.Tensor | None, B: int) -> torch.Tensor | None:
        if head_gates is None:
            return None
        L, H = self.cfg.n_layers, self.cfg.n_heads
        g = head_gates
        if g.shape not in ((L * H,), (B, L * H)):
            raise ValueError(
                f"head_gates must have shape [{L * H}] or [{B}, {L * H}] "
                f"(n_layers * n_heads), got {list(g.shape)}"
            )
        return g.reshape(-1, L, H)

    def forward(self, tokens: torch.Tensor, head_gates: torch.Tensor | None = None):
        B, T = tokens.shape
        if T > self.cfg.seq_len:
            raise ValueError(f"sequence length {T} exceeds the model's seq_len={self.cfg.seq_len}")
        gates = self._gates(head_gates, B)
        key = (T, str(tokens.device))
        if key not in self._masks:
            self._masks[key] = attention_mask(T, self.causal, self.strict, tokens.device)
        mask = self._masks[key]
        causal = self.causal and mask is None  # SDPA's fast causal path for the standard mask
        e = self.embed(tokens)
        s = e
        for layer in range(self.cfg.n_layers):
            block = self.blocks[layer if len(self.blocks) > 1 else 0]
            s = block(s, e, self.rope, mask, causal, None if gates is None else gates[:, layer])
        return self.lm_head(self.norm(s))
