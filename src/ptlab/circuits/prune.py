"""Pruning a frozen model to a task circuit: learned node masks along a k_coef grid, a tie-free
ranking, bisection, logit calibration and a one-node-at-a-time cleanup (Gao et al. 2025,
§3). Shown in: chapter *circuits*.

* Nodes: every scalar channel at the eight node locations of every layer
  (``model.LOCATIONS``), numbered layer by layer, location by location (``NodeIndex``).
* Ablation: a pruned node is replaced by its mean over pretraining text,
  x_i ← m_i·x_i + (1 − m_i)·μ_i (``mean``), or by 0 (``zero``, the control). The means are
  taken over every position of ordinary pretraining windows (``node_means``), not over the task.
* Mask learning (``learn_phase``): one parameter τ_i per node, τ ~ N(0.1, 0.01) (every node
  starts on), clamped to [−1, 1]. Forward m = Heaviside(τ); backward the surrogate
  ∂m/∂τ = σ′(τ/T)/T, T = 1 (``heaviside_ste``). Objective: task loss of the masked model +
  k_coef·Σ m_i; AdamW (weight decay 1e-3, β = (0.9, 0.95)), gradient clip 1, lr decaying
  linearly to 0 within each phase; batches of ``batch_pairs`` pairs.
* Decision (saturation): Adam moves each τ by at most about lr per step, so a phase moves it by
  at most lr·steps/2. The profiles keep the sum over the grid's phases below 1, so τ stays
  inside (−1, 1) and the ranking keeps the information of how consistently each node was pushed
  (the old 200 steps at lr 3e-2 left 85 % of the masks at −1, tied). ``Found.saturated``
  reports the share at ±1 anyway.
* The k_coef grid (``find_circuit``): the phases run from the grid's largest k_coef to its smallest,
  each resuming from the τ of the one before (a regularisation path: the grid at the cost of
  one run). After every phase the nodes with τ ≥ 0 are tested; if they meet the target, the
  bisection below gives that phase's candidate. If the smallest k_coef still misses, the path
  resumes with k_coef/4, up to ``resumes`` times; there is no fallback to any other order.
  The smallest candidate (edges, then nodes) is cleaned up and returned.
* Ranking (``rank``): by τ, ties broken by the node's attribution (``importance``: the
  first-order rise of the task loss when it alone is ablated at the learned mask), remaining
  ties by a random order drawn from the pruning seed, never by node index, so two pruning seeds
  share nodes only where the model makes them.
* Bisection (``smallest_passing``): the smallest k ≤ #{τ ≥ 0} whose top-k nodes meet the target
  on the pruning pairs, assuming the loss falls as k grows.
* Calibration (``fit_calibration``; the paper's "scale and shift on the final logits, 16 LBFGS
  steps"): a shift of every logit cancels in the two-way loss, so the scale a multiplies the
  margin z_correct − z_alt and the shift b acts on the task's binary logit z_a − z_b (a bias
  toward the pair's *a* answer, which ablated constant nodes produce). Every loss the target is
  compared with is calibrated; the held-out checks reuse the pruning pairs' (a, b). Decision:
  the scale is capped (``max_scale``, 4). Uncapped, on the two-way loss of a few dozen pairs, it
  reached 8–13 on this machine and amplified signals that reach the output only through the
  norms' rescaling: such a circuit's held-out loss rose from 0.15 to 4 nats with the norms
  frozen.
* Cleanup (``cleanup``): the kept nodes, weakest first, are each dropped when the calibrated loss
  without them stays ≤ the target (the calibration refitted each time), so the loss never ends
  above the target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ptlab.circuits.model import CircuitModel, NodeIndex, frozen_norms
from ptlab.circuits.tasks import TaskSet, answers
from ptlab.models.config import ConfigError

ABLATIONS = ("mean", "zero")
CALIBRATION_STEPS = 16  # LBFGS iterations, as in the paper


@dataclass(frozen=True)
class PruneConfig:
    """Mask learning and discretisation settings (Table 2 of the paper's search centres, scaled
    to fewer steps)."""

    steps: int = 100  # mask-learning steps per phase (one phase per k_coef of the grid)
    batch_pairs: int = 16
    lr: float = 5e-3
    k_coefs: tuple[float, ...] = (3e-3, 1e-3, 3e-4)  # the grid, run from the largest
    resumes: int = 2  # extra phases at k_coef/4 each when the smallest k_coef misses the target
    weight_decay: float = 1e-3
    temperature: float = 1.0
    target: float = 0.15  # nats of mean two-way cross-entropy (calibrated)
    ablation: str = "mean"
    calibrate: bool = True
    max_scale: float = 4.0  # cap of the calibration's scale (see the module docstring)
    cleanup: bool = True

    def __post_init__(self) -> None:
        if self.ablation not in ABLATIONS:
            raise ConfigError(
                f"ablation must be one of {', '.join(ABLATIONS)}, got {self.ablation!r}"
            )
        for name in ("steps", "batch_pairs"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.resumes, int) or self.resumes < 0:
            raise ConfigError(f"resumes must be an integer >= 0, got {self.resumes!r}")
        for name in ("lr", "target", "temperature", "max_scale"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        k = self.k_coefs
        if not isinstance(k, tuple) or not k or not all(isinstance(c, float) and c > 0 for c in k):
            raise ConfigError(f"k_coefs must be a non-empty tuple of positive numbers, got {k!r}")

    def grid(self) -> tuple[float, ...]:
        """The phases' k_coefs: the grid from its largest, then the resumes at /4 each."""
        g = tuple(sorted(self.k_coefs, reverse=True))
        return g + tuple(g[-1] / 4 ** (i + 1) for i in range(self.resumes))


class HeavisideSTE(torch.autograd.Function):
    """m = 1[τ ≥ 0] forward; σ′(τ/T)/T backward."""

    @staticmethod
    def forward(ctx, tau, temperature):
        ctx.save_for_backward(tau)
        ctx.temperature = temperature
        return (tau >= 0).to(tau.dtype)

    @staticmethod
    def backward(ctx, grad):
        (tau,) = ctx.saved_tensors
        s = torch.sigmoid(tau / ctx.temperature)
        return grad * s * (1 - s) / ctx.temperature, None


def heaviside_ste(tau: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    return HeavisideSTE.apply(tau, temperature)


def ablation_edit(index: NodeIndex, gates: torch.Tensor, means: dict) -> Callable:
    """The model edit x ← m·x + (1 − m)·μ at every site, m = ``gates`` [n] (0/1 or STE)."""
    g = index.split(gates)

    def edit(layer: int, loc: str, x: torch.Tensor) -> torch.Tensor:
        m = g[(layer, loc)]
        return x * m + (1 - m) * means[(layer, loc)]

    return edit


@torch.no_grad()
def node_means(model: CircuitModel, batches: list[torch.Tensor]) -> dict:
    """Mean activation of every node over all positions of ``batches`` ([B, T] windows)."""
    sums: dict[tuple[int, str], torch.Tensor] = {}
    count = 0

    def record(layer, loc, x):
        key = (layer, loc)
        sums[key] = sums.get(key, 0) + x.sum(dim=(0, 1))
        return x

    for b in batches:
        model(b, edit=record)
        count += b.shape[0] * b.shape[1]
    return {k: v / count for k, v in sums.items()}


def zero_means(means: dict) -> dict:
    return {k: torch.zeros_like(v) for k, v in means.items()}


# --- calibration -------------------------------------------------------------------------------

Calibration = tuple[float, float]  # (scale a, shift b)
IDENTITY: Calibration = (1.0, 0.0)


def calibrated_losses(two: torch.Tensor, first: torch.Tensor, cal: Calibration) -> torch.Tensor:
    """Per row −log p(correct) with margin a·(z_correct − z_alt) ± b (+ on rows whose correct
    answer is the pair's a answer). ``two`` [N, 2] = (z_correct, z_alt)."""
    a, b = cal
    sign = first.to(two.dtype) * 2 - 1
    return F.softplus(-(a * (two[:, 0] - two[:, 1]) + b * sign))


def fit_calibration(two: torch.Tensor, first: torch.Tensor, max_scale: float = 4.0) -> Calibration:
    """(a, b) minimising the mean calibrated loss, a ∈ [0, ``max_scale``], by
    ``CALIBRATION_STEPS`` damped Newton steps from (1, 0) (a two-parameter logistic fit; the
    paper uses 16 LBFGS steps, which cost a second here for the same fit); the identity when
    the fit does not improve on it, so it never makes the loss worse."""
    margin = (two[:, 0] - two[:, 1]).detach().double().cpu()
    sign = first.double().cpu() * 2 - 1
    x = torch.stack([margin, sign], 1)  # [N, 2]: the calibrated margin is x @ (a, b)

    def loss_of(p):
        return float(F.softplus(-(x @ p)).mean())

    p = torch.tensor([1.0, 0.0], dtype=torch.float64)
    best = loss_of(p)
    plain = best
    for _ in range(CALIBRATION_STEPS):
        s = torch.sigmoid(-(x @ p))  # d softplus(−z)/dz = −σ(−z)
        grad = -(x * s[:, None]).mean(0)
        w = s * (1 - s)
        hess = (x.T * w) @ x / len(x) + 1e-9 * torch.eye(2, dtype=torch.float64)
        step = torch.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-4:
            q = p - t * step
            q[0] = q[0].clamp(0.0, max_scale)
            if loss_of(q) < best:
                p, best = q, loss_of(q)
                break
            t /= 2
        else:
            break
    if not np.isfinite(best) or best >= plain:
        return IDENTITY
    a, b = p.tolist()
    return float(a), float(b)


# --- losses of a kept set ----------------------------------------------------------------------


@torch.no_grad()
def kept_logits(model, ts: TaskSet, means: dict, keep: torch.Tensor, frozen=False):
    """[N, 2] (z_correct, z_alt) with only the ``keep`` nodes (bool [n]) intact; with
    ``frozen`` the norms use the unpruned model's scales on these prompts."""
    index = NodeIndex(model.cfg)
    edit = ablation_edit(index, keep.float().to(ts.tokens.device), means)
    if frozen:
        ts = ts.subset(torch.arange(len(ts), device=ts.last.device))  # trimmed, as answers runs
        with frozen_norms(model, ts.tokens, ts.last):
            return answers(model, ts, edit, chunk=None)
    return answers(model, ts, edit)


def loss_keeping(
    model, ts: TaskSet, means: dict, keep: torch.Tensor, cal: Calibration = IDENTITY, frozen=False
) -> float:
    """Task loss with only the ``keep`` nodes intact, the others ablated, under calibration
    ``cal`` (the identity: the plain two-way cross-entropy)."""
    two = kept_logits(model, ts, means, keep, frozen)
    return float(calibrated_losses(two, ts.first, cal).mean())


def calibrated_loss(
    model, ts, means, keep, calibrate: bool = True, max_scale: float = 4.0
) -> tuple[float, Calibration]:
    """(loss, calibration) of a kept set on ``ts``, the calibration fitted on ``ts`` itself."""
    two = kept_logits(model, ts, means, keep)
    cal = fit_calibration(two, ts.first, max_scale) if calibrate else IDENTITY
    return float(calibrated_losses(two, ts.first, cal).mean()), cal


# --- mask learning -----------------------------------------------------------------------------


def init_tau(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 + 0.01 * torch.randn(n, generator=g)


def learn_phase(
    model, ts: TaskSet, means: dict, cfg: PruneConfig, tau: torch.Tensor, k_coef: float, seed: int
) -> torch.Tensor:
    """τ after one phase of ``cfg.steps`` mask-learning steps at ``k_coef``, from ``tau``; the
    model is frozen. Batches are drawn from ``seed``."""
    index = NodeIndex(model.cfg)
    g = torch.Generator().manual_seed(seed)
    tau = tau.clone().to(ts.tokens.device).requires_grad_(True)
    opt = torch.optim.AdamW([tau], lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)
    n_pairs = len(ts) // 2
    frozen = [p.requires_grad_(False) for p in model.parameters()]
    try:
        for step in range(cfg.steps):
            for group in opt.param_groups:
                group["lr"] = cfg.lr * (1 - step / cfg.steps)
            pairs = torch.randint(0, n_pairs, (min(cfg.batch_pairs, n_pairs),), generator=g)
            batch = ts.subset(torch.stack([2 * pairs, 2 * pairs + 1], 1).flatten())
            gates = heaviside_ste(tau, cfg.temperature)
            two = answers(model, batch, ablation_edit(index, gates, means), chunk=None)
            loss = calibrated_losses(two, batch.first, IDENTITY).mean() + k_coef * gates.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([tau], 1.0)
            opt.step()
            with torch.no_grad():
                tau.clamp_(-1.0, 1.0)
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return tau.detach().cpu()


def importance(model, ts: TaskSet, means: dict, keep: torch.Tensor) -> torch.Tensor:
    """[n]: −∂L/∂m_i at the 0/1 mask ``keep``, i.e. Σ over positions of (x_i − μ_i)·∂L/∂x_i
    with the sign flipped: the first-order rise of the task loss when node i alone is ablated
    (for a kept node) or its fall when it alone is restored (for an ablated one)."""
    index = NodeIndex(model.cfg)
    gates = keep.float().to(ts.tokens.device).requires_grad_(True)
    frozen = [p.requires_grad_(False) for p in model.parameters()]
    try:
        two = answers(model, ts, ablation_edit(index, gates, means))
        (grad,) = torch.autograd.grad(calibrated_losses(two, ts.first, IDENTITY).mean(), gates)
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return -grad.detach().cpu()


def rank(tau: torch.Tensor, attribution: torch.Tensor, seed: int) -> torch.Tensor:
    """Node indices, most important first: by τ, then by ``attribution``, then by a random order
    drawn from ``seed`` (never by index)."""
    rnd = np.random.default_rng([seed, 0x7A11]).permutation(len(tau))
    order = np.lexsort((rnd, -attribution.detach().cpu().numpy(), -tau.detach().cpu().numpy()))
    return torch.as_tensor(order)


def keep_first(order: torch.Tensor, k: int, n: int) -> torch.Tensor:
    """bool [n]: the first k nodes of ``order``."""
    keep = torch.zeros(n, dtype=torch.bool)
    keep[order[:k]] = True
    return keep


def smallest_passing(passes: Callable[[int], bool], n: int) -> int | None:
    """The smallest k in [0, n] with ``passes(k)``, by bisection (``passes`` assumed monotone:
    False … False True … True); None if even ``passes(n)`` is False."""
    if not passes(n):
        return None
    lo, hi = -1, n  # passes(lo) is False (or lo = -1), passes(hi) is True
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return hi


def bisect(model, ts, means, order, hi: int, target: float, calibrate: bool, max_scale=4.0):
    """The top-k set of ``order`` with the smallest k ≤ ``hi`` whose calibrated loss on ``ts`` is
    ≤ ``target``: (keep, loss, calibration), or None when k = hi misses."""
    n = len(order)
    seen: dict[int, tuple[float, Calibration]] = {}

    def passes(k: int) -> bool:
        if k not in seen:
            seen[k] = calibrated_loss(
                model, ts, means, keep_first(order, k, n), calibrate, max_scale
            )
        return seen[k][0] <= target

    k = smallest_passing(passes, hi)
    if k is None:
        return None
    return keep_first(order, k, n), *seen[k]


def cleanup(model, ts, means, keep, order, target: float, calibrate: bool, max_scale=4.0):
    """One pass over the kept nodes, weakest (latest in ``order``) first: each is dropped when
    the calibrated loss without it stays ≤ ``target``. Returns (keep, loss, calibration); the
    loss is ≤ target whenever the starting set's is."""
    keep = keep.clone()
    loss, cal = calibrated_loss(model, ts, means, keep, calibrate, max_scale)
    for i in reversed(order.tolist()):
        if not keep[i]:
            continue
        keep[i] = False
        trial, trial_cal = calibrated_loss(model, ts, means, keep, calibrate, max_scale)
        if trial <= target:
            loss, cal = trial, trial_cal
        else:
            keep[i] = True
    return keep, loss, cal


# --- the whole procedure -----------------------------------------------------------------------


@dataclass
class Found:
    """A circuit: its nodes, its calibrated loss on the pruning pairs and calibration, the
    phase (k_coef) that gave it, and how the masks looked."""

    keep: torch.Tensor  # bool [n]
    before_cleanup: torch.Tensor  # bool [n]: the bisection's set
    loss: float
    cal: Calibration
    k_coef: float
    phases: int  # phases run (the grid plus any resumes)
    saturated: float  # share of τ at ±1 after the last phase
    mask_nodes: int  # #{τ ≥ 0} of the chosen phase (the bisection's upper end)
    order: torch.Tensor = field(repr=False)


def find_circuit(
    model, ts: TaskSet, means: dict, cfg: PruneConfig, seed: int, size=None
) -> Found | None:
    """The circuit of ``model`` on ``ts``: the grid's phases (and resumes), a candidate per phase
    whose mask meets the target, the smallest candidate (by ``size(keep)``, default the node
    count) cleaned up. None when no phase's mask meets the target."""
    size = size or (lambda keep: int(keep.sum()))
    n = NodeIndex(model.cfg).n
    tau = init_tau(n, seed)
    grid, n_grid = cfg.grid(), len(cfg.k_coefs)
    candidates = []
    phases = 0
    for i, k_coef in enumerate(grid):
        if i >= n_grid and candidates:
            break  # resumes only when the grid found nothing
        tau = learn_phase(model, ts, means, cfg, tau, k_coef, seed * 1000 + i)
        phases += 1
        mask = tau >= 0
        attribution = importance(model, ts, means, mask)
        order = rank(tau, attribution, seed)
        hit = bisect(
            model, ts, means, order, int(mask.sum()), cfg.target, cfg.calibrate, cfg.max_scale
        )
        if hit is not None:
            candidates.append((size(hit[0]), int(hit[0].sum()), i, k_coef, hit, order, mask))
    saturated = float((tau.abs() >= 1.0).float().mean())
    if not candidates:
        return None
    _, _, _, k_coef, (keep, loss, cal), order, mask = min(candidates, key=lambda c: c[:3])
    before = keep
    if cfg.cleanup:
        keep, loss, cal = cleanup(
            model, ts, means, keep, order, cfg.target, cfg.calibrate, cfg.max_scale
        )
    return Found(keep, before, loss, cal, k_coef, phases, saturated, int(mask.sum()), order)


def prune_by_attribution(
    model, ts: TaskSet, means: dict, cfg: PruneConfig, seed: int
) -> Found | None:
    """The attribution baseline: nodes ranked by ``importance`` at the full model (ties by the
    seed's random order) and the smallest passing top-k over all nodes. No cleanup (its set can
    hold a thousand nodes: a pass would cost a forward each); it is compared with the learned
    masks' set before their cleanup (``Found.before_cleanup``)."""
    n = NodeIndex(model.cfg).n
    full = torch.ones(n, dtype=torch.bool)
    attribution = importance(model, ts, means, full)
    order = rank(torch.zeros(n), attribution, seed)
    hit = bisect(model, ts, means, order, n, cfg.target, cfg.calibrate, cfg.max_scale)
    if hit is None:
        return None
    keep, loss, cal = hit
    return Found(keep, keep, loss, cal, 0.0, 0, 0.0, n, order)
