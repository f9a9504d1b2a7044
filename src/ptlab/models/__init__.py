"""The PT <-> Transformer model family: one configurable decoder."""

from ptlab.models.config import (
    OBJECTIVES,
    SWITCHES,
    ConfigError,
    ModelConfig,
    all_off,
    all_on,
    default_ffn_hidden,
)
from ptlab.models.model import (
    PTLM,
    attention_mask,
    build_model,
    n_params,
    param_count,
    param_count_table,
)

__all__ = [
    "OBJECTIVES",
    "SWITCHES",
    "ConfigError",
    "ModelConfig",
    "PTLM",
    "all_off",
    "all_on",
    "attention_mask",
    "build_model",
    "default_ffn_hidden",
    "n_params",
    "param_count",
    "param_count_table",
]
