"""Named parameter profiles: ``smoke`` (seconds; tests), ``quick`` (default; a 2-core CPU),
``full`` (a GPU or a cluster). Each gives the model-size and training fields of one run
(``model``, ``train``), and a study may add a section of its own that overrides them (e.g.
``attribution``: deeper models and per-member step counts). The one source of every default:
studies build their configs from here and chapters only override."""

from __future__ import annotations

from typing import Any

from ptlab.models import ModelConfig
from ptlab.models.config import ConfigError
from ptlab.train import TrainConfig

PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    # seconds per run: enough steps that the loss moves, so every code path runs in the tests
    "smoke": {
        "model": dict(d_model=32, n_layers=2, n_heads=2, seq_len=32),
        "train": dict(
            steps=30,
            batch_size=8,
            lr=5e-3,
            warmup_steps=3,
            eval_every=15,
            eval_batches=2,
            eval_batch_size=16,
        ),
        # 16 windows a batch (not 8): at 30 steps the heads must matter for the attribution
        "attribution": dict(model={}, train=dict(batch_size=16), steps=(30, 30, 20)),
        "residual": dict(model=dict(n_layers=3), train={}),
    },
    # 128 fractional-design runs in about 20 minutes on 2 CPU cores (README, "Performance").
    "quick": {
        "model": dict(d_model=64, n_layers=2, n_heads=4, seq_len=64),
        "train": dict(
            steps=500,
            batch_size=16,
            lr=5e-3,
            warmup_steps=50,
            eval_every=125,
            eval_batches=8,
            eval_batch_size=32,
        ),
        # 4 layers so that the layer bands of Note 5 are not single heads; LLaDA gets 1.5x the AR
        # steps (a masked-diffusion loss sees ~half the targets), Dream 0.5x on top of AR
        "attribution": dict(model=dict(n_layers=4), train={}, steps=(1000, 1500, 500)),
        # cross-layer connections need depth: 4 layers (the brief's tier 1 uses 6, too slow for
        # every variant x 2 seeds in 20 min on 2 cores; measured in the residual chapter)
        "residual": dict(model=dict(n_layers=4), train=dict(steps=300, eval_every=60)),
    },
    # the scale of the lab's notes: a GPU, or a Slurm array of one run per task
    "full": {
        "model": dict(d_model=256, n_layers=6, n_heads=8, seq_len=256),
        "train": dict(
            steps=5000,
            batch_size=64,
            lr=2e-3,
            warmup_steps=250,
            eval_every=500,
            eval_batches=32,
            eval_batch_size=64,
        ),
        "attribution": dict(model={}, train={}, steps=(5000, 7500, 2500)),
        "residual": dict(model=dict(n_layers=8), train={}),
    },
}
DEFAULT_PROFILE = "quick"


def check_profile(name: str) -> None:
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; allowed: {', '.join(PROFILES)}")


def study_section(name: str, study: str) -> dict[str, Any]:
    """The profile's section for ``study`` (empty if it has none)."""
    check_profile(name)
    return PROFILES[name].get(study, {})


def profile_configs(
    name: str, overrides: dict[str, Any] | None = None, study: str | None = None
) -> tuple[ModelConfig, TrainConfig]:
    """The profile's base ModelConfig (all switches off) and TrainConfig, with the study's
    section (if ``study`` is given) and then ``overrides`` applied.

    ``overrides`` may name any ModelConfig field (switches included) or TrainConfig field;
    anything else raises ConfigError naming the allowed keys.
    """
    check_profile(name)
    prof = PROFILES[name]
    section = study_section(name, study) if study else {}
    m = {**prof["model"], **section.get("model", {})}
    t = {**prof["train"], **section.get("train", {})}
    model_keys = set(ModelConfig.__dataclass_fields__)
    train_keys = set(TrainConfig.__dataclass_fields__)
    for key, value in (overrides or {}).items():
        if key in model_keys:
            m[key] = value
        elif key in train_keys:
            t[key] = value
        else:
            allowed = ", ".join(sorted(model_keys | train_keys))
            raise ConfigError(f"unknown parameter {key!r}; allowed: {allowed}")
    return ModelConfig(**m), TrainConfig(**t)
