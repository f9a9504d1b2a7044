"""What the residual study measures in each run after training (the sweep's per-run hook,
``RunSpec.measure = MEASURE``): the eval forward time against the baseline in the same process,
and the learned cross-layer weights, so the chapter needs no trained model.
"""

from __future__ import annotations

import math
import time

from ptlab.models import ModelConfig
from ptlab.train import TrainConfig

MEASURE = "ptlab.residual.measure:after_training"
# the tiers after the screen need the weights only (timing every run would add ~3 s each)
CONNECTIONS = "ptlab.residual.measure:connections_only"


def after_training(model, model_cfg: ModelConfig, train_cfg: TrainConfig) -> dict:
    """The record's extra fields: eval timings (merged into ``metrics``) and ``connections``."""
    return {
        "metrics": eval_timing(model, model_cfg, train_cfg),
        "connections": connection_weights(model),
    }


def connection_weights(model) -> dict[str, list]:
    """The learned cross-layer weights of a residual variant as JSON lists (NaN → None), so
    the chapter can plot them without the trained model; empty for other models."""
    get = getattr(model, "connection_weights", None)
    if get is None:
        return {}

    def clean(x):
        if isinstance(x, list):
            return [clean(v) for v in x]
        return None if isinstance(x, float) and math.isnan(x) else x

    return {k: clean(v.double().tolist()) for k, v in get().items()}


def connections_only(model, model_cfg: ModelConfig, train_cfg: TrainConfig) -> dict:
    """The record's ``connections`` (the learned cross-layer weights) alone."""
    return {"connections": connection_weights(model)}


def eval_timing(model, model_cfg: ModelConfig, train_cfg: TrainConfig, repeats: int = 5) -> dict:
    """Forward time per eval batch of the trained model and of the baseline at the same size,
    measured here, interleaved (median of ``repeats`` passes each), so background load on a
    shared machine hits all alike: ``eval_time_ms``, ``eval_time_baseline_ms`` (PTLM with
    PyTorch's fused attention, what a user would run), ``eval_time_ratio`` (the two), and
    ``eval_time_explicit_ms`` (the same baseline with explicit attention, the code path every
    residual variant uses: the part of a ratio that is only the unfused kernel shows there).
    """
    import statistics

    import torch

    from ptlab import data
    from ptlab.models import ResidualLM, build_model

    batches = data.eval_batches(
        data.load_corpus().tokens("val"),
        n_batches=train_cfg.eval_batches,
        batch_size=train_cfg.eval_batch_size,
        seq_len=model_cfg.seq_len,
    )
    device = next(model.parameters()).device
    base_cfg = ModelConfig.from_dict({**model_cfg.to_dict(), "residual": "baseline"})
    models = {
        "eval_time_ms": model.eval(),
        "eval_time_baseline_ms": build_model(base_cfg).to(device).eval(),
        "eval_time_explicit_ms": ResidualLM(base_cfg).to(device).eval(),
    }

    @torch.no_grad()
    def one_pass(m) -> float:
        t0 = time.perf_counter()
        for b in batches:
            m(b[:, :-1].to(device))
        if device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1000 / len(batches)

    times: dict[str, list[float]] = {k: [] for k in models}
    for m in models.values():  # warm-up
        one_pass(m)
    for _ in range(repeats):
        for k, m in models.items():
            times[k].append(one_pass(m))
    out = {k: statistics.median(v) for k, v in times.items()}
    out["eval_time_ratio"] = out["eval_time_ms"] / out["eval_time_baseline_ms"]
    return out
