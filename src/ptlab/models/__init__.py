"""The PT <-> Transformer model family: one configurable decoder and its residual variants."""

from ptlab.models.build import (
    build_model,
    flops_per_token,
    n_params,
    param_count,
    param_count_table,
    residual_extra_flops,
    residual_extra_params,
    residual_trainable_params,
)
from ptlab.models.config import (
    NOTE_NUMBERS,
    OBJECTIVES,
    RESIDUALS,
    SHORT_NAMES,
    SWITCHES,
    ConfigError,
    ModelConfig,
    all_off,
    all_on,
    default_ffn_hidden,
    short_name,
)
from ptlab.models.model import PTLM, attention_mask
from ptlab.models.residual import ResidualLM

__all__ = [
    "NOTE_NUMBERS",
    "OBJECTIVES",
    "RESIDUALS",
    "SHORT_NAMES",
    "SWITCHES",
    "ConfigError",
    "ModelConfig",
    "PTLM",
    "ResidualLM",
    "all_off",
    "all_on",
    "attention_mask",
    "build_model",
    "default_ffn_hidden",
    "flops_per_token",
    "n_params",
    "param_count",
    "param_count_table",
    "residual_extra_flops",
    "residual_extra_params",
    "residual_trainable_params",
    "short_name",
]
