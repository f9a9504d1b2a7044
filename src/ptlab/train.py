"""Training and evaluation: objectives (causal, masked diffusion), AdamW + warm-up/cosine.

``train(model_cfg, train_cfg, seed)`` returns a plain dict (metrics, curve, status) that the
sweep stores as one record. Everything random is derived from ``seed`` and the step index, so
the same config and seed give the same eval loss bit for bit on the same CPU and thread count.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ptlab import data
from ptlab.models import ModelConfig, build_model, n_params
from ptlab.models.config import ConfigError, config_from_dict

LN2 = math.log(2.0)
MD_EPS = 1e-3  # masking ratio t ~ U(MD_EPS, 1), as in LLaDA


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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

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


def causal_loss(model, batch: torch.Tensor, head_gates=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-byte cross-entropy (nats per byte) and top-1 accuracy on a [B, T+1] window batch."""
    logits = model(batch[:, :-1], head_gates=head_gates)
    targets = batch[:, 1:]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    acc = (logits.argmax(-1) == targets).float().mean()
    return loss, acc


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


def masked_diffusion_loss(
    model, tokens: torch.Tensor, noise: tuple[torch.Tensor, torch.Tensor], head_gates=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """LLaDA's loss: masked tokens replaced by MASK, CE on them weighted by 1/t, / (B T).

    Returns (loss, accuracy on the masked positions). ``tokens`` is [B, T] clean bytes.
    """
    t, mask = noise
    noisy = tokens.masked_fill(mask, data.MASK)
    logits = model(noisy, head_gates=head_gates)
    ce = F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")  # [B, T]
    loss = (ce * mask / t[:, None]).sum() / tokens.numel()
    hits = ((logits.argmax(-1) == tokens) & mask).sum()
    acc = hits / mask.sum().clamp(min=1)
    return loss, acc


def objective_loss(model, batch: torch.Tensor, seed: int, step: int, head_gates=None):
    """The model's own objective on a [B, T+1] window batch (masked diffusion uses [:, :T])."""
    if model.cfg.objective == "causal":
        return causal_loss(model, batch, head_gates)
    tokens = batch[:, :-1]
    noise = draw_noise(tuple(tokens.shape), seed, step, tokens.device)
    return masked_diffusion_loss(model, tokens, noise, head_gates)


@torch.no_grad()
def evaluate(model, batches: list[torch.Tensor]) -> tuple[float, float]:
    """Mean loss and accuracy over fixed batches (fixed noise for masked diffusion)."""
    was_training = model.training
    model.eval()
    dev = next(model.parameters()).device
    losses, accs = [], []
    for i, b in enumerate(batches):
        loss, acc = objective_loss(model, b.to(dev), seed=data.EVAL_SEED, step=i)
        losses.append(loss.item())
        accs.append(acc.item())
    model.train(was_training)
    return float(np.mean(losses)), float(np.mean(accs))


# --- optimisation ----------------------------------------------------------------------------


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to lr, then cosine decay to lr * min_lr_ratio at the last step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * progress))


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norm gains)."""
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


def train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    seed: int = 0,
    *,
    tensorboard_dir: str | None = None,
    progress: bool = False,
    return_model: bool = False,
) -> dict[str, Any]:
    """Train one model; returns metrics, curve and status (``ok`` or ``diverged``).

    A non-finite training or eval loss ends the run with status ``diverged`` and the metrics of
    the last finite evaluation; it never raises.
    """
    device = resolve_device(train_cfg.device)
    corpus = data.load_corpus()
    stream = corpus.tokens("train")
    evals = data.eval_batches(
        corpus.tokens("val"),
        n_batches=train_cfg.eval_batches,
        batch_size=train_cfg.eval_batch_size,
        seq_len=model_cfg.seq_len,
    )
    torch.manual_seed(seed)
    model = build_model(model_cfg).to(device)
    opt = make_optimizer(model, train_cfg)
    writer = None
    if tensorboard_dir:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(tensorboard_dir)

    curve: list[dict[str, float]] = []
    status, last = "ok", None
    train_time, t0 = 0.0, time.perf_counter()
    bar = None
    if progress:
        from ptlab.progress import progress_bar

        bar = progress_bar(total=train_cfg.steps, desc="train", leave=False)
    step = 0
    for step in range(train_cfg.steps):
        ts = time.perf_counter()
        batch = data.get_batch(
            stream,
            seed=seed,
            step=step,
            batch_size=train_cfg.batch_size,
            seq_len=model_cfg.seq_len,
        ).to(device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, train_cfg)
        loss, _ = objective_loss(model, batch, seed, step)
        if not torch.isfinite(loss):
            status = "diverged"
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
        opt.step()
        train_loss = loss.item()
        train_time += time.perf_counter() - ts
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss:.3f}")
        if writer is not None:
            writer.add_scalar("train/loss", train_loss, step + 1)
            writer.add_scalar("train/lr", lr_at(step, train_cfg), step + 1)
        if (step + 1) % train_cfg.eval_every == 0 or step + 1 == train_cfg.steps:
            ev_loss, ev_acc = evaluate(model, evals)
            if not math.isfinite(ev_loss):
                status = "diverged"
                break
            last = {
                "step": step + 1,
                "train_loss": train_loss,
                "eval_loss": ev_loss,
                "eval_accuracy": ev_acc,
            }
            curve.append(last)
            if writer is not None:
                writer.add_scalar("eval/loss", ev_loss, step + 1)
                writer.add_scalar("eval/accuracy", ev_acc, step + 1)
    if bar is not None:
        bar.close()
    if writer is not None:
        writer.close()
    wall = time.perf_counter() - t0
    steps_done = step + 1 if status == "ok" else step
    tokens = steps_done * train_cfg.batch_size * model_cfg.seq_len
    metrics: dict[str, Any] = {
        "eval/loss": last["eval_loss"] if last else float("nan"),
        "eval/accuracy": last["eval_accuracy"] if last else float("nan"),
        "eval/bpb": last["eval_loss"] / LN2 if last else float("nan"),
        "eval/step": last["step"] if last else 0,
        "n_params": n_params(model),
        "steps_done": steps_done,
        "tokens_per_s": tokens / train_time if train_time > 0 else 0.0,
        "wall_s": wall,
    }
    out = {"status": status, "metrics": metrics, "curve": curve, "device": str(device)}
    if return_model:
        out["model"] = model
    return out
