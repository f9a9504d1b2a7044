"""Training and evaluation: one loss per objective, one loop (AdamW + warm-up/cosine).

``sequence_losses`` is the loss of every objective (causal, masked diffusion, shifted masked
diffusion), per window; ``optimise`` is the one training loop (the sweep, the attribution family
and the other studies all train through it, sparse training as an ``after_step`` hook);
``train(model_cfg, train_cfg, seed)`` builds a model, runs the loop and returns a plain dict
(metrics, curve, status) that the sweep stores as one record. Everything random is derived
from ``seed`` and the step index, so the same config and seed give the same eval loss bit for
bit on the same CPU and thread count (with the same kernels: the fused ones of
``models/fused.py`` or, without a compiler, the eager ones, which agree to float rounding).

Decision (speed, issue 21): the loss runs over contiguous [rows, V] logits (a fused kernel on
the CPU), AdamW is PyTorch's fused implementation and clipping uses foreach kernels; ``update``
is the step the benchmarks time. Nothing here enters a run id.

Decision (weight-sparse training, chapter *circuits*): the settings of Gao et al. (2025) are
options of the same loop, not a loop of their own: ``adam_eps`` (they use 0.1), ``grad_norm``
(``clip``: clip the global norm to ``grad_clip``; ``rms``: divide every gradient by
‖g‖/√N + 1e-5, so the gradient RMS is 1 at every step), ``schedule`` (``cosine``, or ``linear``
decay to lr·min_lr_ratio after the warm-up) and ``optimise(lr_scale=...)``, a per-step factor
on the scheduled lr (their √(L0_target/L0(t))). The three fields are left out of
``TrainConfig.to_dict`` while they hold their defaults, so every run id and cache key computed
before they existed stays the same.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ptlab import data
from ptlab.models import ModelConfig, build_model, fused, n_params
from ptlab.models.config import ConfigError, config_from_dict

LN2 = math.log(2.0)
MD_EPS = 1e-3  # masking ratio t ~ U(MD_EPS, 1), as in LLaDA
GRAD_NORMS = ("clip", "rms")
SCHEDULES = ("cosine", "linear")
# fields added after results existed, and their defaults (omitted from to_dict at the default)
LATER_FIELDS: dict[str, Any] = {"adam_eps": 1e-8, "grad_norm": "clip", "schedule": "cosine"}


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and evaluation settings of one run (the seed is passed separately)."""

    steps: int = 300
    batch_size: int = 16
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 30
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_batches: int = 8
    eval_batch_size: int = 32
    device: str = "auto"
    adam_eps: float = 1e-8
    grad_norm: str = "clip"  # clip | rms
    schedule: str = "cosine"  # cosine | linear

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        ints = ("steps", "batch_size", "eval_every", "eval_batches", "eval_batch_size")
        for name in ints:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps must be an integer >= 0, got {self.warmup_steps!r}")
        for name in ("lr", "grad_clip"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0:
                raise ConfigError(f"{name} must be a positive number, got {v!r}")
        for name in ("min_lr_ratio", "weight_decay", "beta1", "beta2"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1:
                raise ConfigError(f"{name} must be a number in [0, 1], got {v!r}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        if not isinstance(self.adam_eps, (int, float)) or not self.adam_eps > 0:
            raise ConfigError(f"adam_eps must be a positive number, got {self.adam_eps!r}")
        for name, allowed in (("grad_norm", GRAD_NORMS), ("schedule", SCHEDULES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )

    def to_dict(self) -> dict[str, Any]:
        """All fields, except the later-added ones (``LATER_FIELDS``) at their defaults."""
        out = dataclasses.asdict(self)
        for name, default in LATER_FIELDS.items():
            if out[name] == default:
                del out[name]
        return out

    def replace(self, **kw: Any) -> TrainConfig:
        return dataclasses.replace(self, **kw)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        return config_from_dict(cls, d, "training")


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when present, else the CPU; nothing assumes a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# --- objectives ------------------------------------------------------------------------------
# One loss per objective (``ModelConfig.objective``), written once as per-window losses; the
# training and evaluation loss is their mean, and head attribution differentiates them per window.


def draw_noise(
    shape: tuple[int, int], seed: int, step: int, device=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One masked-diffusion noise draw: per-row ratio t ~ U(eps, 1) and a [B, T] bool mask.

    A pure function of (seed, step, shape); reuse a draw to make the loss a deterministic
    function of the model (the attribution chapter does).
    """
    rng = np.random.Generator(np.random.PCG64([seed, step, 0xD1FF]))
    B, T = shape
    t = MD_EPS + (1 - MD_EPS) * rng.random(B)
    mask = rng.random((B, T)) < t[:, None]
    return (
        torch.as_tensor(t, dtype=torch.float32, device=device),
        torch.as_tensor(mask, device=device),
    )


def sequence_losses(
    model,
    tokens: torch.Tensor,
    noise: tuple[torch.Tensor, torch.Tensor] | None = None,
    head_gates: torch.Tensor | None = None,
    *,
    with_accuracy: bool = False,
):
    """Per-window loss [B] of the model's objective (nats per byte); their mean is the loss.

    * ``causal``: ``tokens`` [B, T+1]; mean next-byte cross-entropy of ``tokens[:, 1:]``.
    * ``masked_diffusion`` (LLaDA, Nie et al. 2025, arXiv 2502.09992): ``tokens`` [B, T] clean
      bytes, ``noise = (t [B], mask [B, T])``; masked bytes become MASK and the cross-entropy on
      them, weighted by 1/t, is summed and divided by T (the estimator of the NLL bound).
    * ``shifted_masked_diffusion`` (Dream, Ye et al. 2025, arXiv 2508.15487): the same masking,
      but position i−1 predicts byte i (the AR model's logit alignment), so the divisor is T−1
      and position 0 is never masked (nothing to its left predicts it).

    ``with_accuracy`` also returns the top-1 accuracy over the predicted positions.
    """
    objective = model.cfg.objective
    if objective == "causal":
        logits = model(tokens[:, :-1], head_gates=head_gates)  # [B, T, V]
        targets, weight = tokens[:, 1:], None
    else:
        if noise is None:
            raise ValueError(f"the {objective} loss needs noise=(t, mask) (see draw_noise)")
        t, mask = noise
        if objective == "shifted_masked_diffusion":
            mask = mask.clone()
            mask[:, 0] = False
        logits = model(tokens.masked_fill(mask, data.MASK), head_gates=head_gates)
        targets, weight = tokens, mask / t[:, None]  # [B, T]
        if objective == "shifted_masked_diffusion":
            logits, targets, weight = logits[:, :-1], tokens[:, 1:], weight[:, 1:]
    # over rows of [B T', V] (contiguous classes: several times faster than the [B, V, T'] form)
    ce = fused.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    ce = ce.view(targets.shape)  # [B, T']
    losses = ce.mean(dim=1) if weight is None else (ce * weight).sum(dim=1) / ce.shape[1]
    if not with_accuracy:
        return losses
    hits = logits.argmax(-1) == targets
    if weight is None:
        return losses, hits.float().mean()
    scored = weight > 0
    return losses, (hits & scored).sum() / scored.sum().clamp(min=1)


def batch_loss(model, batch: torch.Tensor, seed: int, step: int, *, with_accuracy=False):
    """The objective's mean loss on a [B, T+1] window batch (masked diffusion uses [:, :T] and
    the noise draw of (seed, step)); with accuracy if asked."""
    if model.cfg.objective == "causal":
        tokens, noise = batch, None
    else:
        tokens = batch[:, :-1]
        noise = draw_noise(tuple(tokens.shape), seed, step, tokens.device)
    out = sequence_losses(model, tokens, noise, with_accuracy=with_accuracy)
    return (out[0].mean(), out[1]) if with_accuracy else out.mean()


@torch.no_grad()
def evaluate(model, batches: list[torch.Tensor]) -> tuple[float, float]:
    """Mean loss and accuracy over fixed batches (fixed noise for masked diffusion)."""
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    losses, accs = [], []
    for i, b in enumerate(batches):
        loss, acc = batch_loss(model, b.to(dev), seed=data.EVAL_SEED, step=i, with_accuracy=True)
        losses.append(loss.item())
        accs.append(acc.item())
    model.train(was_training)
    return float(np.mean(losses)), float(np.mean(accs))


# --- optimisation ----------------------------------------------------------------------------


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to lr, then cosine (or linear) decay to lr * min_lr_ratio at the last
    step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    floor = cfg.lr * cfg.min_lr_ratio
    if cfg.schedule == "linear":
        return cfg.lr - (cfg.lr - floor) * progress
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * progress))


def normalise_gradients(params: list[torch.Tensor], cfg: TrainConfig) -> None:
    """``clip``: clip the global norm to grad_clip. ``rms``: g ← g / (‖g‖/√N + 1e-5) over all N
    gradient entries, so their RMS is 1 (Gao et al. 2025, with Adam's eps = 0.1)."""
    if cfg.grad_norm == "clip":  # foreach: a few kernel calls, not a few per tensor
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip, foreach=True)
        return
    grads = [p.grad for p in params if p.grad is not None]
    n = sum(g.numel() for g in grads)
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    scale = 1.0 / (norm / math.sqrt(n) + 1e-5)
    torch._foreach_mul_(grads, scale)


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only: not on norm gains, nor on parameters marked
    ``_no_weight_decay`` (cross-layer connection weights, as Hyper-Connections does)."""
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2 and not getattr(p, "_no_weight_decay", False)]
    chosen = {id(p) for p in decay}
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if id(p) not in chosen], "weight_decay": 0.0},
    ]
    # fused: one kernel updates every tensor (PyTorch's default on the CPU is a Python loop of
    # about ten ops per tensor); the same AdamW update. CPU and CUDA have the fused kernel.
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return torch.optim.AdamW(
        groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.adam_eps, fused=fused
    )


def update(opt: torch.optim.Optimizer, params: list, loss: torch.Tensor, cfg: TrainConfig) -> None:
    """The loop's update: backward, normalised gradients, one AdamW step (bench/ times this)."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    normalise_gradients(params, cfg)
    opt.step()


StepHook = Callable[[torch.nn.Module, int], None]


@dataclass
class Optimised:
    """What the loop returns: status, the eval curve, and the counters train() reports."""

    status: str  # ok | diverged
    curve: list[dict[str, float]]
    steps_done: int
    train_time: float  # seconds inside training steps (evaluation excluded)


def optimise(
    model,
    cfg: TrainConfig,
    seed: int,
    *,
    evals: list[torch.Tensor] | None = None,
    after_step: StepHook | None = None,
    lr_scale: Callable[[int], float] | None = None,
    stream=None,
    bar=None,
    writer=None,
) -> Optimised:
    """The training loop, the only one in ptlab: AdamW with warm-up + cosine on the train split.

    Step s trains on ``data.get_batch(seed, s)`` of ``stream`` (default: the corpus's train
    split) with the model's objective (fresh noise per step for masked diffusion), normalises
    the gradients (``normalise_gradients``) and steps the optimizer at ``lr_at(s)`` times
    ``lr_scale(s)`` if given; then ``after_step(model, s)`` runs (e.g. a sparsity projection).
    Every ``eval_every`` steps and at the end the model is evaluated on ``evals``. A non-finite
    training or eval loss stops the loop with status ``diverged``; it never raises.
    """
    device = next(model.parameters()).device
    if stream is None:
        stream = data.load_corpus().tokens("train")
    opt = make_optimizer(model, cfg)
    params = list(model.parameters())
    model.train()
    curve: list[dict[str, float]] = []
    status, train_time, step = "ok", 0.0, 0
    for step in range(cfg.steps):
        ts = time.perf_counter()
        batch = data.get_batch(
            stream, seed=seed, step=step, batch_size=cfg.batch_size, seq_len=model.cfg.seq_len
        ).to(device)
        lr = lr_at(step, cfg) * (lr_scale(step) if lr_scale is not None else 1.0)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = batch_loss(model, batch, seed, step)
        if not torch.isfinite(loss):
            status = "diverged"
            break
        update(opt, params, loss, cfg)
        if after_step is not None:
            after_step(model, step)
        train_loss = loss.item()
        train_time += time.perf_counter() - ts
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss:.3f}")
        if writer is not None:
            writer.add_scalar("train/loss", train_loss, step + 1)
            writer.add_scalar("train/lr", lr, step + 1)
        if evals is not None and ((step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps):
            ev_loss, ev_acc = evaluate(model, evals)
            if not math.isfinite(ev_loss):
                status = "diverged"
                break
            curve.append(
                {
                    "step": step + 1,
                    "train_loss": train_loss,
                    "eval_loss": ev_loss,
                    "eval_accuracy": ev_acc,
                }
            )
            if writer is not None:
                writer.add_scalar("eval/loss", ev_loss, step + 1)
                writer.add_scalar("eval/accuracy", ev_acc, step + 1)
    steps_done = step + 1 if status == "ok" else step
    return Optimised(status, curve, steps_done, train_time)


def train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    seed: int = 0,
    *,
    init_state: dict[str, torch.Tensor] | None = None,
    after_step: StepHook | None = None,
    tensorboard_dir: str | None = None,
    progress: Any = False,
    return_model: bool = False,
) -> dict[str, Any]:
    """Train one model; returns metrics, curve and status (``ok`` or ``diverged``).

    The model is built under ``torch.manual_seed(seed)``, or starts from ``init_state`` (a
    state dict, e.g. an AR checkpoint to adapt). ``progress`` is False, True (a bar of its own)
    or an open progress bar to advance. A non-finite training or eval loss ends the run with
    status ``diverged`` and the metrics of the last finite evaluation; it never raises.
    """
    device = resolve_device(train_cfg.device)
    evals = data.eval_batches(
        data.load_corpus().tokens("val"),
        n_batches=train_cfg.eval_batches,
        batch_size=train_cfg.eval_batch_size,
        seq_len=model_cfg.seq_len,
    )
    torch.manual_seed(seed)
    model = build_model(model_cfg)
    if init_state is not None:
        model.load_state_dict(init_state)
    model.to(device)
    writer = None
    if tensorboard_dir:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(tensorboard_dir)
    bar = None if isinstance(progress, bool) or progress is None else progress
    if progress is True:
        from ptlab.progress import progress_bar

        bar = progress_bar(total=train_cfg.steps, desc="train", leave=False)
    t0 = time.perf_counter()
    run = optimise(
        model, train_cfg, seed, evals=evals, after_step=after_step, bar=bar, writer=writer
    )
    wall = time.perf_counter() - t0
    if progress is True:
        bar.close()
    if writer is not None:
        writer.close()
    last = run.curve[-1] if run.curve else None
    tokens = run.steps_done * train_cfg.batch_size * model_cfg.seq_len
    metrics: dict[str, Any] = {
        "eval/loss": last["eval_loss"] if last else float("nan"),
        "eval/accuracy": last["eval_accuracy"] if last else float("nan"),
        "eval/bpb": last["eval_loss"] / LN2 if last else float("nan"),
        "eval/step": last["step"] if last else 0,
        "n_params": n_params(model),
        "steps_done": run.steps_done,
        "tokens_per_s": tokens / run.train_time if run.train_time > 0 else 0.0,
        "wall_s": wall,
    }
    out = {"status": run.status, "metrics": metrics, "curve": run.curve, "device": str(device)}
    if return_model:
        out["model"] = model.eval()
    return out
