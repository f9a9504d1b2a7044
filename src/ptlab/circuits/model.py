"""The small decoder of the circuits study, with its node locations (Gao et al. 2025,
https://arxiv.org/abs/2511.13653, §1.1 and §3.1). Shown in: chapter *circuits*.

A GPT-2-like pre-norm decoder with the paper's changes, read top to bottom:

* RMSNorm with gain (``ptlab.models.model.Norm``), so zero is a privileged value of the residual;
  no positional embedding (the causal mask is the only position cue); untied token embedding
  and unembedding; biases in the attention and MLP matrices; GELU MLP with d_mlp = 4·d;
  heads of ``d_head`` = 16 channels.
* Attention sink: per head one learned logit b_h for an extra key that every query sees and
  whose value is 0, so a head can attend to "nothing".
* A dense bigram table [V, V] indexed by the current byte and added to the logits; it takes the
  bigram statistics off the sparse weights and is neither sparsified nor weight-decayed
  (``_no_weight_decay``). Initialised U(0, 1)·0.02, as the paper's training script does.
* Init: linear weights and embeddings N(0, init_std), the two output projections (``c_proj``)
  scaled by 1/√(2·n_layers), biases 0.
* Node locations, eight per layer, each a scalar channel (``LOCATIONS``): ``attn_in`` (after
  the norm), ``attn_q``/``attn_k``/``attn_v`` (all heads concatenated; head h owns channels
  h·16 … h·16+15), ``attn_out`` (after ``c_proj``: the write to the residual), ``mlp_in``,
  ``mlp_neuron`` (after GELU), ``mlp_out``. At each one AbsTopK (``afrac``; 1 = off) runs
  first, then the optional ``edit(layer, location, x) -> x`` (node masks, recording means).

``forward(tokens, head_gates=None, edit=None)`` returns logits [B, T, V]; ``head_gates`` exists
only because the one training loop passes it, and must be None.

``frozen_norms(model, tokens)`` (a context manager) records every RMSNorm's scale 1/rms at every
position of ``tokens`` in an unedited forward, then makes the norms use those scales instead of
their own until it exits: a pruned model run on the same tokens inside it cannot change its
output through the normaliser (Drori's check; Gao et al. 2025, §4).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ptlab.circuits.sparse import abs_topk
from ptlab.data import VOCAB_SIZE
from ptlab.models.config import ConfigError
from ptlab.models.model import Norm

LOCATIONS = (
    "attn_in",
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_out",
    "mlp_in",
    "mlp_neuron",
    "mlp_out",
)
Edit = Callable[[int, str, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class CircuitConfig:
    """Sizes of one circuits model; validates itself (one-line ConfigError)."""

    d_model: int = 64
    n_layers: int = 2
    d_head: int = 16
    seq_len: int = 64
    afrac: float = 0.25  # AbsTopK fraction at every node location (1 = off)
    pos_embed: bool = False  # a learned absolute position embedding (the paper has none)
    vocab_size: int = VOCAB_SIZE
    init_std: float = 0.02
    norm_eps: float = 1e-6
    objective: str = "causal"  # the only objective; ptlab.train reads it
    use_rms_norm: ClassVar[bool] = True  # what ptlab.models.model.Norm reads

    def __post_init__(self) -> None:
        for name in ("d_model", "n_layers", "d_head", "seq_len", "vocab_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if self.d_model % self.d_head:
            raise ConfigError(f"d_model={self.d_model} must be a multiple of d_head={self.d_head}")
        if not isinstance(self.afrac, (int, float)) or not 0 < self.afrac <= 1:
            raise ConfigError(f"afrac must be in (0, 1], got {self.afrac!r}")
        if self.objective != "causal":
            raise ConfigError(f"the circuits model is causal only, got {self.objective!r}")
        if self.vocab_size < VOCAB_SIZE:
            raise ConfigError(f"vocab_size must be >= {VOCAB_SIZE} (bytes + PAD, BOS, MASK)")

    @property
    def n_heads(self) -> int:
        return self.d_model // self.d_head

    @property
    def d_mlp(self) -> int:
        return 4 * self.d_model

    def size(self, location: str) -> int:
        """Channels at a node location."""
        return self.d_mlp if location == "mlp_neuron" else self.d_model

    @property
    def n_nodes(self) -> int:
        return self.n_layers * sum(self.size(loc) for loc in LOCATIONS)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **kw: Any) -> CircuitConfig:
        return dataclasses.replace(self, **kw)


class NodeIndex:
    """Flat node numbering: ``slices[(layer, loc)]`` is that site's range in [0, n)."""

    def __init__(self, cfg):
        self.slices: dict[tuple[int, str], slice] = {}
        start = 0
        for layer in range(cfg.n_layers):
            for loc in LOCATIONS:
                self.slices[(layer, loc)] = slice(start, start + cfg.size(loc))
                start += cfg.size(loc)
        self.n = start

    def site_of(self, i: int) -> tuple[int, str, int]:
        """(layer, location, channel) of flat node i."""
        for (layer, loc), sl in self.slices.items():
            if sl.start <= i < sl.stop:
                return layer, loc, i - sl.start
        raise IndexError(i)

    def split(self, flat: torch.Tensor) -> dict[tuple[int, str], torch.Tensor]:
        return {key: flat[sl] for key, sl in self.slices.items()}


class CircuitNorm(Norm):
    """RMSNorm with gain whose scale can be recorded (``record``) or replaced by a recorded one
    (``frozen`` [B, T, 1]); both are plain attributes, so the state dict is Norm's."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.record: bool = False
        self.scale: torch.Tensor | None = None  # the recorded 1/rms
        self.frozen: torch.Tensor | None = None

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        if self.frozen is not None:
            return self.weight * (s * self.frozen)
        inv = torch.rsqrt(s.pow(2).mean(-1, keepdim=True) + self.eps)
        if self.record:
            self.scale = inv.detach()
        return self.weight * (s * inv)


class SinkAttention(nn.Module):
    """Causal multi-head attention with one learned sink logit per head (value 0)."""

    def __init__(self, cfg: CircuitConfig):
        super().__init__()
        d, self.H, self.r = cfg.d_model, cfg.n_heads, cfg.d_head
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.sink = nn.Parameter(torch.zeros(self.H))

    def mix(self, q, k, v) -> torch.Tensor:
        """softmax over [keys j ≤ i, sink] of q·k/√r; the sink's value is 0. [B, T, H·r]."""
        B, T, _ = q.shape
        q, k, v = (x.view(B, T, self.H, self.r).transpose(1, 2) for x in (q, k, v))
        s = q @ k.transpose(-1, -2) / math.sqrt(self.r)  # [B, H, T, T]
        causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        s = s.masked_fill(~causal, float("-inf"))
        sink = self.sink.view(1, self.H, 1, 1).expand(B, self.H, T, 1)
        p = torch.softmax(torch.cat([s, sink], dim=-1), dim=-1)[..., :T]
        return (p @ v).transpose(1, 2).reshape(B, T, self.H * self.r)


class CircuitBlock(nn.Module):
    """Pre-norm attention then MLP; every node location goes through ``site``."""

    def __init__(self, cfg: CircuitConfig, layer: int):
        super().__init__()
        self.layer, self.afrac = layer, cfg.afrac
        self.ln_1, self.ln_2 = CircuitNorm(cfg), CircuitNorm(cfg)
        self.attn = SinkAttention(cfg)
        self.c_fc = nn.Linear(cfg.d_model, cfg.d_mlp)
        self.c_proj = nn.Linear(cfg.d_mlp, cfg.d_model)

    def site(self, loc: str, x: torch.Tensor, edit: Edit | None) -> torch.Tensor:
        x = abs_topk(x, self.afrac)
        return x if edit is None else edit(self.layer, loc, x)

    def forward(self, s: torch.Tensor, edit: Edit | None = None) -> torch.Tensor:
        x = self.site("attn_in", self.ln_1(s), edit)
        q, k, v = self.attn.c_attn(x).chunk(3, dim=-1)
        q, k, v = (
            self.site(loc, t, edit) for loc, t in zip(LOCATIONS[1:4], (q, k, v), strict=True)
        )
        s = s + self.site("attn_out", self.attn.c_proj(self.attn.mix(q, k, v)), edit)
        h = self.c_fc(self.site("mlp_in", self.ln_2(s), edit))
        h = self.site("mlp_neuron", F.gelu(h), edit)
        return s + self.site("mlp_out", self.c_proj(h), edit)


class CircuitModel(nn.Module):
    """Embedding → blocks → RMSNorm → unembedding, plus the bigram table; logits [B, T, V]."""

    def __init__(self, cfg: CircuitConfig):
        super().__init__()
        self.cfg = cfg
        V, d = cfg.vocab_size, cfg.d_model
        self.wte = nn.Embedding(V, d)
        self.wpe = nn.Embedding(cfg.seq_len, d) if cfg.pos_embed else None
        self.blocks = nn.ModuleList(CircuitBlock(cfg, i) for i in range(cfg.n_layers))
        self.ln_f = CircuitNorm(cfg)
        self.lm_head = nn.Linear(d, V, bias=False)
        self.bigram = nn.Parameter(torch.rand(V, V) * 0.02)
        self.bigram._no_weight_decay = True
        self.reset_parameters()

    def reset_parameters(self) -> None:
        std = self.cfg.init_std
        for name, p in self.named_parameters():
            if name == "bigram" or name.endswith("sink"):
                continue
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() == 2:
                scale = 1 / math.sqrt(2 * self.cfg.n_layers) if "c_proj" in name else 1.0
                nn.init.normal_(p, std=std * scale)

    def sparse_targets(self) -> dict[str, tuple[str, int | None]]:
        """{parameter: (fraction group, floor axis)} for ``sparse.Sparsifier``: read matrices
        protect rows (axis 1), write matrices columns (axis 0); embeddings and biases no floor."""
        out: dict[str, tuple[str, int | None]] = {}
        for name, p in self.named_parameters():
            if name == "bigram" or name.endswith("sink") or ".ln_" in name or "ln_f" in name:
                continue
            if p.dim() == 1 or name in ("wte.weight", "wpe.weight", "lm_head.weight"):
                out[name] = ("embed", None)
            else:
                out[name] = ("hidden", 0 if "c_proj" in name else 1)
        return out

    def forward(
        self, tokens, head_gates=None, edit: Edit | None = None, positions=None
    ) -> torch.Tensor:
        """Logits [B, T, V]; with ``positions`` [B] only each row's logits there, [B, V] (the
        task loss reads one position per prompt: the norm and unembedding run on those)."""
        if head_gates is not None:
            raise ValueError("the circuits model has no head gates; use edit= for node masks")
        T = tokens.shape[1]
        if T > self.cfg.seq_len:
            raise ValueError(f"sequence length {T} exceeds the model's seq_len={self.cfg.seq_len}")
        s = self.wte(tokens)
        if self.wpe is not None:
            s = s + self.wpe.weight[:T]
        for block in self.blocks:
            s = block(s, edit)
        if positions is not None:
            rows = torch.arange(len(positions), device=s.device)
            s, tokens = s[rows, positions], tokens[rows, positions]  # [B, d], [B]
        return self.lm_head(self.ln_f(s)) + self.bigram[tokens]


@contextmanager
def frozen_norms(model: CircuitModel, tokens: torch.Tensor, positions=None) -> Iterator[None]:
    """Inside: every norm of ``model`` uses the scales of an unedited forward on ``tokens`` (and
    ``positions``, which the forwards inside must pass too)."""
    norms = [m for m in model.modules() if isinstance(m, CircuitNorm)]
    try:
        for n in norms:
            n.record = True
        with torch.no_grad():
            model(tokens, positions=positions)
        for n in norms:
            n.record, n.frozen, n.scale = False, n.scale, None
        yield
    finally:
        for n in norms:
            n.record, n.frozen, n.scale = False, None, None


def matrices(model: CircuitModel) -> dict[str, torch.Tensor]:
    """The weight matrices whose entries ``models.csv`` counts: embeddings, attention and MLP
    (the bigram table, the same dense table in every model, is left out)."""
    return {n: p for n, p in model.named_parameters() if p.dim() == 2 and n != "bigram"}


def nonzero_params(model: CircuitModel) -> int:
    return int(sum((p != 0).sum().item() for p in matrices(model).values()))


def total_params(model: CircuitModel) -> int:
    return int(sum(p.numel() for p in matrices(model).values()))
