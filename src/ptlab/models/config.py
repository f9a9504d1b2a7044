"""ModelConfig: the ten PT <-> Transformer switches plus size, objective and residual variant.

False is the Probabilistic-Transformer side of every switch, True the Llama side, so
``ModelConfig()`` with every switch False is the causal PT and ``all_on()`` is a Llama decoder.
``residual`` picks a cross-layer residual variant of the Llama decoder (``models.residual``);
every variant other than ``baseline`` needs every switch on and the causal objective.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ptlab.data import VOCAB_SIZE

# The exact names of the lab's sweep (Note 1, book/en/notes.md); their order is the canonical
# column order.
SWITCHES: tuple[str, ...] = (
    "untie_attn_weights",
    "use_std_residual",
    "use_rms_norm",
    "use_gated_ffn",
    "untie_ffn_weights",
    "no_vo_rope",
    "untie_layerwise_weights",
    "no_mask_diagonal",
    "use_ffn_after_attn",
    "use_single_message_attn",
)

# The one naming readers see (tables, figures, prose): a short name per switch, never a bare
# number. The models chapter and the notes page map each to its full name (what code, the CLI and
# the results store use) and, where the notes number it, to that number (NOTE_NUMBERS).
SHORT_NAMES: dict[str, str] = {
    "untie_attn_weights": "untie_attn",
    "use_std_residual": "std_residual",
    "use_rms_norm": "rms_norm",
    "use_gated_ffn": "gated_ffn",
    "untie_ffn_weights": "untie_ffn",
    "no_vo_rope": "no_vo_rope",
    "untie_layerwise_weights": "untie_layers",
    "no_mask_diagonal": "no_mask_diag",
    "use_ffn_after_attn": "ffn_after_attn",
    "use_single_message_attn": "single_message",
}
# Note 1 numbers switches by its own SHAP-strength ranking; Notes 1-2 name these four (the book's
# notes page says so). The book never uses these numbers itself, it only translates them.
NOTE_NUMBERS: dict[int, str] = {
    1: "untie_attn_weights",
    2: "use_std_residual",
    3: "use_rms_norm",
    6: "use_gated_ffn",
}


def short_name(term: str) -> str:
    """``untie_attn_weights:use_rms_norm`` → ``untie_attn × rms_norm`` (any other text as is)."""
    return " × ".join(SHORT_NAMES.get(t, t) for t in str(term).split(":"))


# The training objectives (one loss each: ptlab.train.sequence_losses). Both masked-diffusion
# objectives attend bidirectionally; the shifted one aligns logits as an AR model does (Dream).
OBJECTIVES = ("causal", "masked_diffusion", "shifted_masked_diffusion")

# The cross-layer residual variants (models/residual.py; the lab's note on Versions 1-4 plus two
# published references); their order is the canonical row order.
RESIDUALS: tuple[str, ...] = (
    "baseline",
    *(f"v1_m{k}" for k in range(1, 8)),
    *(f"v1_m{k}_embed" for k in range(1, 8)),
    "v2_m1",
    "v2_m2",
    "v2_m3",
    "v3_m1",
    "v3_m2",
    "v3_m3_1",
    "v3_m3_2",
    "v3_m4_1",
    "v3_m4_2",
    "v3_m1_r",
    *(f"v4_m{k}" for k in range(1, 8)),
    *(f"v4_m1{c}" for c in "abcde"),
    "v4_c",
    "v4_d",
    "denseformer",
    "mudd",
)


class ConfigError(ValueError):
    """A config value that cannot work; the message names the field and what is allowed."""


@dataclass(frozen=True)
class ModelConfig:
    """One member of the model family. Switch fields are False on the PT side."""

    untie_attn_weights: bool = False
    use_std_residual: bool = False
    use_rms_norm: bool = False
    use_gated_ffn: bool = False
    untie_ffn_weights: bool = False
    no_vo_rope: bool = False
    untie_layerwise_weights: bool = False
    no_mask_diagonal: bool = False
    use_ffn_after_attn: bool = False
    use_single_message_attn: bool = False
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    seq_len: int = 64
    vocab_size: int = VOCAB_SIZE
    ffn_hidden: int = 0  # 0 = Llama's rule: 8/3 d rounded up to a multiple of 16
    objective: str = "causal"
    residual: str = "baseline"  # a name in RESIDUALS; to_dict() omits the default (run ids)
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6
    init_std: float = 0.02  # linear layers; the embedding uses std 1 (see models.model)

    def __post_init__(self) -> None:
        self.validate()
        if self.ffn_hidden == 0:
            object.__setattr__(self, "ffn_hidden", default_ffn_hidden(self.d_model))

    # --- validation ------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ConfigError (one line: the field, the value, what is allowed) on a bad value."""
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in SWITCHES and not isinstance(v, bool):
                raise ConfigError(f"switch {f.name} must be true or false, got {v!r}")
        for name in ("d_model", "n_layers", "n_heads", "seq_len", "vocab_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.ffn_hidden, int) or self.ffn_hidden < 0:
            raise ConfigError(f"ffn_hidden must be an integer >= 0, got {self.ffn_hidden!r}")
        if self.d_model % self.n_heads:
            raise ConfigError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}; "
                "choose n_heads among the divisors of d_model"
            )
        if (self.d_model // self.n_heads) % 2:
            raise ConfigError(
                f"head size d_model/n_heads={self.d_model // self.n_heads} must be even for RoPE"
            )
        if self.objective not in OBJECTIVES:
            raise ConfigError(
                f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}"
            )
        if self.vocab_size < VOCAB_SIZE:
            raise ConfigError(f"vocab_size must be >= {VOCAB_SIZE} (bytes + PAD, BOS, MASK)")
        self._validate_residual()

    def _validate_residual(self) -> None:
        """A residual variant is a change to the Llama decoder: every switch on, causal."""
        if self.residual not in RESIDUALS:
            raise ConfigError(
                f"residual must be one of {', '.join(RESIDUALS)}, got {self.residual!r}"
            )
        if self.residual == "baseline":
            return
        off = [s for s in SWITCHES if not getattr(self, s)]
        if off:
            raise ConfigError(
                f"residual variant {self.residual} needs every switch on (the Llama backbone); "
                f"off: {', '.join(off)}"
            )
        if self.objective != "causal":
            raise ConfigError(
                f"residual variant {self.residual} needs objective causal, got {self.objective!r}"
            )

    # --- views -----------------------------------------------------------------------------
    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def n_gates(self) -> int:
        """Number of head gates: one per head per layer application."""
        return self.n_layers * self.n_heads

    @property
    def switches(self) -> dict[str, bool]:
        return {s: getattr(self, s) for s in SWITCHES}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["residual"] == "baseline":  # run ids hash this dict; keep the pre-variant ids
            del d["residual"]
        return d

    def replace(self, **kw: Any) -> ModelConfig:
        return dataclasses.replace(self, **kw)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        return config_from_dict(cls, d, "model")


def config_from_dict(cls: type, d: dict[str, Any], what: str):
    """Build a config dataclass from a dict; an unknown key is a ConfigError naming the allowed."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        allowed = ", ".join(sorted(known))
        raise ConfigError(f"unknown {what} parameter {unknown[0]!r}; allowed: {allowed}")
    return cls(**d)


def default_ffn_hidden(d_model: int) -> int:
    """Llama's FFN width rule, 8d/3 rounded up to a multiple of 16; the same for every config."""
    return -(-(8 * d_model // 3) // 16) * 16


def all_on(**kw: Any) -> ModelConfig:
    """Every switch on: a Llama decoder."""
    return ModelConfig(**{s: True for s in SWITCHES}, **kw)


def all_off(**kw: Any) -> ModelConfig:
    """Every switch off: the causal Probabilistic Transformer."""
    return ModelConfig(**kw)
