"""The cross-layer connections of the residual variants (models/residual.py): the variant
tables, MUDD's per-position weight generator and ``Connections``, the module that holds one
variant's learned (or fixed) cross-layer parameters and initialises them. The formulas and every
decision are in the header of models/residual.py; the closed-form counts in models/build.py.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ptlab.models.config import ModelConfig

# --- the variant tables ----------------------------------------------------------------------

# V1 method -> (attention-site source, MLP-site source, divide by the number of earlier
# sources); a source is "a" (attention outputs) or "f" (MLP outputs); None = standard residual.
V1_SITES = {
    "1": ("a", None, False),
    "2": ("a", None, True),
    "3": (None, "f", False),
    "4": (None, "f", True),
    "5": ("a", "a", False),
    "6": ("f", "f", False),
    "7": ("a", "f", False),
}
# V2 and V3: the site whose residual gets the depth sum, and the weights of that sum.
DEPTH_SITES = {
    "v2_m1": ("mlp", "mean"),
    "v2_m2": ("attn", "mean"),
    "v2_m3": ("mlp", "softmax"),
    "v3_m1": ("mlp", "sum"),
    "v3_m2": ("attn", "sum"),
    "v3_m3_1": ("mlp", "mean"),
    "v3_m3_2": ("mlp", "softmax"),
    "v3_m4_1": ("attn", "mean"),
    "v3_m4_2": ("attn", "softmax"),
    "v3_m1_r": ("mlp", "sum"),
}
# V3 read as "replace the residual" (as V1 does): the MLP site's sum takes the place of y_m
REPLACE = ("v3_m1_r",)
SOFTMAX_MIXED = ("v2_m3", "v3_m3_2", "v3_m4_2")
LAYER_SCALED = ("v4_m1", "v4_m2", "v4_m3", "v4_m4")  # s depends on m only
PAIR_SCALED = ("v4_m5", "v4_m6", "v4_m7")  # a learned s per (m, i)
# V4 token weights: what each variant learns; CURRENT_ONLY ones do not accumulate logits.
TOKEN_WEIGHTS = {
    "v4_m1a": "matrix",
    "v4_m1b": "key",
    "v4_m1c": "query",
    "v4_m1d": "query_generated",
    "v4_m1e": "key_generated",
    "v4_c": "query",
    "v4_d": "query_generated",
}
CURRENT_ONLY = ("v4_c", "v4_d")
MUDD_STREAMS = 4  # Q, K, V, R


def family(residual: str) -> str:
    """baseline, v1, v2, v3, v4, denseformer or mudd."""
    return residual.split("_")[0]


def mudd_streams(i: int, n_layers: int) -> int:
    """Streams after block i (1-indexed): Q, K, V, R, except R only after the last block."""
    return 1 if i == n_layers else MUDD_STREAMS


# --- pieces ----------------------------------------------------------------------------------


def rms_no_scale(x: torch.Tensor, eps: float) -> torch.Tensor:
    """RMSNorm without a gain (MUDD's generator input)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


class WeightGenerator(nn.Module):
    """Per-position weights A = GELU(RMSNormNoScale(x) W1) W2 + b (MUDD's dynamic dense weights).

    ``streams`` groups of ``sources`` weights: [B, T, d] -> [B, T, streams * sources], stream
    major. Raw parameters, not nn.Linear, so building one draws no random numbers (the backbone
    must match PTLM's draws) and no global Linear re-init can touch it.
    """

    def __init__(self, d: int, sources: int, streams: int, eps: float):
        super().__init__()
        self.sources, self.streams, self.eps = sources, streams, eps
        n = streams * sources
        self.w1 = nn.Parameter(torch.empty(d, n))
        self.w2 = nn.Parameter(torch.empty(n, n))
        self.bias = nn.Parameter(torch.empty(n))

    @torch.no_grad()
    def reset_parameters(self, one_hot: bool) -> None:
        """MUDD's init: W1 ~ N(0, 1/d), W2 = 0, so A = b at step 0; b = 1 (V4 token weights) or,
        per stream, one-hot on the newest source (MUDD: every stream equals the newest state)."""
        nn.init.normal_(self.w1, std=self.w1.shape[0] ** -0.5)
        nn.init.zeros_(self.w2)
        bias = self.bias.view(self.streams, self.sources)
        if one_hot:
            bias.zero_()
            bias[:, -1] = 1.0
        else:
            bias.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(rms_no_scale(x, self.eps) @ self.w1) @ self.w2 + self.bias  # [B, T, S n]


# --- connection parameters -------------------------------------------------------------------


def _per_layer(L: int, *shape: int, first: int = 0) -> nn.ParameterList:
    """One parameter [k + 1, *shape] for each layer index k = first..L-1 (k + 1 sources)."""
    return nn.ParameterList(nn.Parameter(torch.empty(k + 1, *shape)) for k in range(first, L))


class Connections(nn.Module):
    """The cross-layer parameters of one variant (none for the fixed ones); see the header."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.residual, L, d = cfg.residual, cfg.n_layers, cfg.d_model
        self.head_dim = cfg.head_dim
        name = self.residual
        if name in SOFTMAX_MIXED:
            self.theta = _per_layer(L, first=1)  # theta[k - 1]: layer index k's k + 1 logits
        elif name == "v4_m4":
            self.scale_a = nn.Parameter(torch.empty(L))
            self.scale_b = nn.Parameter(torch.empty(L))
        elif name in PAIR_SCALED:
            self.rho = _per_layer(L)  # rho[k]: [k + 1], a_{m,i} = exp(rho)
            if name == "v4_m6":
                self.expo = _per_layer(L)  # b_{m,i}
        elif name in TOKEN_WEIGHTS:
            self._make_token_weights(cfg)
        elif name == "denseformer":
            self.alpha = _per_layer(L + 1, first=1)  # alpha[i - 1]: Y_i over X_0..X_i
        elif name == "mudd":
            self.gen = nn.ModuleList(  # gen[i - 1]: after block i, over X_0..X_i
                WeightGenerator(d, i + 1, mudd_streams(i, L), cfg.norm_eps) for i in range(1, L + 1)
            )
        self._mark_no_weight_decay()

    def _mark_no_weight_decay(self) -> None:
        for p in self.parameters():
            p._no_weight_decay = True

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        self._mark_no_weight_decay()  # copy.deepcopy rebuilds parameters without their attributes

    def _make_token_weights(self, cfg: ModelConfig) -> None:
        L, T, kind = cfg.n_layers, cfg.seq_len, TOKEN_WEIGHTS[self.residual]
        n = [1 if self.residual in CURRENT_ONLY else k + 1 for k in range(L)]  # sources per layer
        if kind.endswith("generated"):
            d, eps = cfg.d_model, cfg.norm_eps
            self.gen = nn.ModuleList(WeightGenerator(d, n_k, 1, eps) for n_k in n)
            return
        shape = (T, T) if kind == "matrix" else (T,)
        self.token_w = nn.ParameterList(nn.Parameter(torch.empty(n_k, *shape)) for n_k in n)

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Each variant's init (the header's decisions); only the generators' W1 draw numbers."""
        name = self.residual
        for p in (*getattr(self, "theta", ()), *getattr(self, "token_w", ())):
            p.fill_(0.0 if name in SOFTMAX_MIXED else 1.0)
        if name == "v4_m4":
            self.scale_a.fill_(0.5)
            self.scale_b.fill_(1.0)
        for p in getattr(self, "rho", ()):
            p.fill_(math.log(math.sqrt(self.head_dim)) if name == "v4_m7" else 0.0)
        for p in getattr(self, "expo", ()):
            p.fill_(0.5)
        for p in getattr(self, "alpha", ()):
            p.zero_()
            p[-1] = 1.0
        for gen in getattr(self, "gen", ()):
            gen.reset_parameters(one_hot=name == "mudd")
