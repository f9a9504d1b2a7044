"""One Llama backbone, three objectives: autoregressive, LLaDA-style masked diffusion from
scratch, and Dream-style masked diffusion adapted from the AR checkpoint. Plus the attribution
windows (code, prose) and the held-out verification windows.

Trained weights are cached under ``results/attribution`` keyed by a hash of the settings, so
rerunning the chapter with other attribution parameters does not retrain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ptlab import data
from ptlab.attribution.losses import EvalSet, fixed_noise, sequence_losses
from ptlab.models import build_model
from ptlab.models.config import all_on
from ptlab.train import TrainConfig, draw_noise, lr_at, make_optimizer


@dataclass(frozen=True)
class FamilySpec:
    """Backbone size and the training budget of each objective."""

    d_model: int = 64
    n_layers: int = 4
    n_heads: int = 4
    seq_len: int = 64
    batch_size: int = 16
    lr: float = 5e-3
    ar_steps: int = 800
    llada_steps: int = 1200
    dream_steps: int = 400  # extra steps on top of the AR checkpoint

    def model_config(self, objective: str):
        return all_on(
            d_model=self.d_model,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            seq_len=self.seq_len,
            objective="causal" if objective == "ar" else "masked_diffusion",
        )

    def key(self, seed: int) -> str:
        blob = json.dumps({**asdict(self), "seed": seed}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def training_loss(model, objective: str, batch: torch.Tensor, seed: int, step: int):
    """Mean loss of one training batch [B, T+1] under the objective (fresh noise per step)."""
    tokens = batch[:, :-1]
    if objective == "ar":
        return sequence_losses(model, "ar", None, batch).mean()
    t, mask = draw_noise(tuple(tokens.shape), seed, step)
    if objective == "dream":
        mask[:, 0] = False
    return sequence_losses(model, objective, None, tokens, t, mask).mean()


def fit(model, objective: str, steps: int, spec: FamilySpec, seed: int, progress=None) -> list:
    """AdamW + warm-up/cosine on the train split; returns the training-loss curve."""
    cfg = TrainConfig(
        steps=steps, batch_size=spec.batch_size, lr=spec.lr, warmup_steps=max(1, steps // 10)
    )
    opt = make_optimizer(model, cfg)
    stream = data.load_corpus().tokens("train")
    model.train()
    curve = []
    for step in range(steps):
        batch = data.get_batch(
            stream, seed=seed, step=step, batch_size=spec.batch_size, seq_len=spec.seq_len
        )
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        loss = training_loss(model, objective, batch, seed, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        curve.append(loss.item())
        if progress is not None:
            progress.update(1)
    model.eval()
    return curve


def train_family(
    spec: FamilySpec, seed: int = 0, cache_dir: str | Path | None = None, progress: bool = True
) -> dict:
    """{"ar", "llada", "dream"} → trained model (eval mode); cached in ``cache_dir``."""
    cache = Path(cache_dir) / f"family-{spec.key(seed)}.pt" if cache_dir else None
    models = {o: build_model(spec.model_config(o)) for o in ("ar", "llada", "dream")}
    if cache is not None and cache.exists():
        state = torch.load(cache, weights_only=True)
        for o, m in models.items():
            m.load_state_dict(state[o])
            m.eval()
        return models
    from ptlab.progress import progress_bar

    total = spec.ar_steps + spec.llada_steps + spec.dream_steps
    bar = progress_bar(total=total, desc="train AR/LLaDA/Dream", disable=not progress)
    torch.manual_seed(seed)
    models["ar"] = build_model(spec.model_config("ar"))
    fit(models["ar"], "ar", spec.ar_steps, spec, seed, bar)
    torch.manual_seed(seed)
    models["llada"] = build_model(spec.model_config("llada"))
    fit(models["llada"], "llada", spec.llada_steps, spec, seed, bar)
    models["dream"].load_state_dict(models["ar"].state_dict())  # same parameters, bidirectional
    fit(models["dream"], "dream", spec.dream_steps, spec, seed + 1, bar)
    bar.close()
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        torch.save({o: m.state_dict() for o, m in models.items()}, tmp)
        tmp.replace(cache)
    return models


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


def eval_set(kind: str, n: int, spec: FamilySpec, objective: str) -> EvalSet:
    """Windows of one kind with the objective's fixed evaluation noise."""
    return fixed_noise(windows(kind, n, spec.seq_len), objective)
