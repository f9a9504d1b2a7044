"""One Llama backbone, three members: autoregressive (``ar``), LLaDA-style masked diffusion from
scratch (``llada``), and Dream-style shifted masked diffusion adapted from the AR checkpoint
(``dream``). Plus the attribution windows (code, prose) and the held-out verification windows.

Every member trains through ``ptlab.train.train`` (the one loop); its sizes and step counts come
from the profile's ``attribution`` section (``ptlab.profiles``), and a chapter only overrides.

Decision (equal budgets): every member sees the same number of training tokens. AR and LLaDA
train ``ar_steps`` = ``llada_steps`` steps; Dream's ``dream_steps`` of adaptation start from a
snapshot of the *same* AR run taken at step ``ar_steps − dream_steps`` (an ``after_step`` hook,
so no extra training), so its AR pre-training plus adaptation is ``ar_steps`` too.
``FamilySpec.tokens`` gives the counts.
Trained weights are cached under ``results/attribution`` keyed by a hash of the settings, so
rerunning the chapter with other attribution parameters does not retrain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ptlab import data
from ptlab.attribution.losses import NOISE_SEED, NOISE_STRATA, EvalSet, fixed_noise
from ptlab.models import ModelConfig, build_model
from ptlab.models.config import SWITCHES, ConfigError
from ptlab.profiles import profile_configs, study_section
from ptlab.train import TrainConfig, train

MEMBERS = ("ar", "llada", "dream")
OBJECTIVE = {"ar": "causal", "llada": "masked_diffusion", "dream": "shifted_masked_diffusion"}
STEP_FIELDS = ("ar_steps", "llada_steps", "dream_steps")


@dataclass(frozen=True)
class FamilySpec:
    """The backbone, the shared optimisation settings, and each member's step count."""

    backbone: ModelConfig  # all switches on (Llama); each member sets its own objective
    train: TrainConfig  # steps, warm-up and evaluation are set per member (train_config)
    steps: tuple[int, int, int]  # ar, llada, dream (dream's adaptation, from AR's snapshot)

    @classmethod
    def from_profile(cls, profile: str = "quick", **overrides: Any) -> FamilySpec:
        """The profile's attribution sizes; ``overrides`` name ModelConfig or TrainConfig
        fields or ``ar_steps`` / ``llada_steps`` / ``dream_steps``; None keeps the profile's
        value (how a chapter says "the profile's")."""
        given = {k: v for k, v in overrides.items() if v is not None}
        steps = list(study_section(profile, "attribution")["steps"])
        for i, name in enumerate(STEP_FIELDS):
            if name in given:
                steps[i] = given.pop(name)
        switches = {s: True for s in SWITCHES}
        m, t = profile_configs(profile, {**switches, **given}, study="attribution")
        if any(not isinstance(s, int) or s < 1 for s in steps):
            raise ConfigError(f"step counts must be positive integers, got {steps}")
        if steps[2] >= steps[0]:
            raise ConfigError(
                f"dream_steps ({steps[2]}) must be below ar_steps ({steps[0]}): Dream adapts "
                "from the AR run's snapshot at step ar_steps − dream_steps"
            )
        return cls(m, t, tuple(steps))

    @property
    def n_gates(self) -> int:
        return self.backbone.n_gates

    def model_config(self, member: str) -> ModelConfig:
        return self.backbone.replace(objective=OBJECTIVE[member])

    def train_config(self, member: str) -> TrainConfig:
        """The shared settings with the member's steps, a 10 % warm-up, one final evaluation."""
        steps = self.steps[MEMBERS.index(member)]
        return self.train.replace(steps=steps, warmup_steps=max(1, steps // 10), eval_every=steps)

    @property
    def dream_from(self) -> int:
        """The AR step whose weights Dream adapts from."""
        return self.steps[0] - self.steps[2]

    def tokens(self, member: str) -> int:
        """Training tokens (bytes) a member has seen, Dream's AR pre-training included."""
        per_step = self.train.batch_size * self.backbone.seq_len
        steps = {"ar": self.steps[0], "llada": self.steps[1], "dream": self.dream_from}[member]
        return (steps + (self.steps[2] if member == "dream" else 0)) * per_step

    def key(self, seed: int) -> str:
        blob = json.dumps(
            {
                "model": self.backbone.to_dict(),
                "train": self.train.to_dict(),
                "steps": self.steps,
                "dream_from": "ar_snapshot",
                "seed": seed,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def training_seconds(spec: FamilySpec, seed: int, cache_dir: str | Path, kind="family") -> float:
    """Wall seconds the cached family (``kind="ar"``: the lone AR model of ``train_ar``) took to
    train (NaN for a cache written before this was recorded, or none)."""
    cache = Path(cache_dir) / f"{kind}-{spec.key(seed)}.pt"
    if not cache.exists():
        return float("nan")
    return float(torch.load(cache, weights_only=True).get("seconds", float("nan")))


def train_family(
    spec: FamilySpec, seed: int = 0, cache_dir: str | Path | None = None, progress: bool = True
) -> dict:
    """{"ar", "llada", "dream"} → trained model (eval mode, on the CPU); cached in ``cache_dir``.

    AR and LLaDA start from the same initialisation (``seed``); Dream starts from the AR run's
    weights at step ``spec.dream_from`` and adapts with its own batches and noise (``seed + 1``).
    """
    cache = Path(cache_dir) / f"family-{spec.key(seed)}.pt" if cache_dir else None
    if cache is not None and cache.exists():
        state = torch.load(cache, weights_only=True)
        models = {o: build_model(spec.model_config(o)) for o in MEMBERS}
        for o, m in models.items():
            m.load_state_dict(state[o])
            m.eval()
        return models
    from ptlab.progress import progress_bar

    bar = progress_bar(total=sum(spec.steps), desc="train AR/LLaDA/Dream", disable=not progress)
    t0 = time.perf_counter()

    snapshot: dict[str, torch.Tensor] = {}

    def keep(model, step: int) -> None:
        if step + 1 == spec.dream_from:
            snapshot.update({k: v.detach().clone() for k, v in model.state_dict().items()})

    def run(member: str, member_seed: int, init=None, after_step=None):
        res = train(
            spec.model_config(member),
            spec.train_config(member),
            member_seed,
            init_state=init,
            after_step=after_step,
            progress=bar,
            return_model=True,
        )
        return res["model"].cpu()

    models = {"ar": run("ar", seed, after_step=keep), "llada": run("llada", seed)}
    snapshot = {k: v.cpu() for k, v in snapshot.items()}
    models["dream"] = run("dream", seed + 1, init=snapshot)
    bar.close()
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        seconds = time.perf_counter() - t0
        torch.save({**{o: m.state_dict() for o, m in models.items()}, "seconds": seconds}, tmp)
        tmp.replace(cache)
    return models


def band_spec(profile: str = "quick", **overrides: Any) -> FamilySpec | None:
    """The deeper model of the layer-band strategy: the family's spec with the profile's
    ``band_layers`` layers (None where the profile sets 0: its main model is deep enough)."""
    depth = study_section(profile, "attribution").get("band_layers", 0)
    if not depth:
        return None
    return FamilySpec.from_profile(profile, **{**overrides, "n_layers": depth})


def train_ar(spec: FamilySpec, seed: int = 0, cache_dir: str | Path | None = None) -> Any:
    """The AR member alone (eval mode, on the CPU), cached like ``train_family``."""
    cache = Path(cache_dir) / f"ar-{spec.key(seed)}.pt" if cache_dir else None
    model = build_model(spec.model_config("ar"))
    if cache is not None and cache.exists():
        state = torch.load(cache, weights_only=True)
        state.pop("seconds", None)
        model.load_state_dict(state)
        return model.eval()
    t0 = time.perf_counter()
    res = train(spec.model_config("ar"), spec.train_config("ar"), seed, return_model=True)
    model = res["model"].cpu().eval()
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        torch.save({**model.state_dict(), "seconds": time.perf_counter() - t0}, tmp)
        tmp.replace(cache)
    return model


WINDOW_SEEDS = {"code": 7_001, "prose": 7_002, "heldout": 7_003}


def windows(kind: str, n: int, seq_len: int) -> torch.Tensor:
    """n fixed windows [n, seq_len]: ``code`` and ``prose`` (docstrings and comments) from the
    attribution split, ``heldout`` from the held-out split (never used for attribution)."""
    c = data.load_corpus()
    stream = {
        "code": lambda: c.tokens("attribution"),
        "prose": lambda: c.prose("attribution"),
        "heldout": lambda: c.tokens("heldout"),
    }[kind]()
    return data.get_batch(
        stream, seed=WINDOW_SEEDS[kind], step=0, batch_size=n, seq_len=seq_len - 1
    )


def eval_set(
    kind: str, n: int, model, noise_seed: int = NOISE_SEED, draws: int = NOISE_STRATA
) -> EvalSet:
    """n windows of one kind with the fixed evaluation noise of the model's objective
    (``draws`` stratified masks per window for masked diffusion)."""
    return fixed_noise(windows(kind, n, model.cfg.seq_len), model.cfg.objective, noise_seed, draws)
