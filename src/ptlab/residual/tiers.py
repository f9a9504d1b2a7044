"""The residual study's tiers: a screen of every variant, a learning-rate check, a confirmation
of the finalists with the seeds a power calculation asks for, fairness baselines and a depth
check. Each tier is one ``ptlab.sweep.run_study`` call on its own study name, so finished runs
are reused and a killed chapter resumes. Settings come from the profile's ``residual`` section
(``ResidualSettings.from_profile``). Shown in: chapter *residual*.

The stated rules:

* **Finalists.** The baseline, and in each family (V1 in both readings, V2, V3, V4 experiment
  1, V4 experiment 2, the published relatives) the variant with the lowest mean screen Δ; ties
  go to the earlier name in ``ptlab.models.RESIDUALS``.
* **Seeds.** The power calculation takes the sd of the paired differences (finalist − baseline)
  pooled over the finalists in the screen and asks for the fewest seeds whose smallest
  detectable effect (80 % power, two-sided 5 %) is at most ``target``; the confirmation trains
  that many, capped at ``confirm_seeds`` (the cap and the detectable effect it reaches are
  printed; the ``full`` profile's cap is the power calculation's own number).
* **Learning rate.** One rate for the confirmation, chosen on the baseline alone: the rate of
  ``lr_rates`` with the lowest mean baseline loss at the screen's length.
* **Fairness.** The baseline again at the confirmation's rate for ``steps × r`` steps, where r
  is the FLOPs ratio of the V3 finalist (closed form) and the training-time ratio of MUDD
  (the screen's median), when those are finalists.
* **Depth.** The baseline and the two finalists with the lowest confirmation Δ at
  ``depth_layers`` layers, with the screen's length, rate and seeds.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ptlab.models import RESIDUALS, SWITCHES, flops_per_token
from ptlab.models.config import ConfigError
from ptlab.profiles import profile_configs, study_section
from ptlab.residual.compare import pooled_paired_sd
from ptlab.residual.measure import CONNECTIONS, MEASURE
from ptlab.residual.study import design
from ptlab.residual.verdicts import CLAIMS
from ptlab.sweep import run_study
from ptlab.verdict import detectable_effect, seeds_needed

FAMILIES: dict[str, tuple[str, ...]] = {
    "V1": tuple(f"v1_m{i}" for i in range(1, 8)) + tuple(f"v1_m{i}_embed" for i in range(1, 8)),
    "V2": ("v2_m1", "v2_m2", "v2_m3"),
    "V3": ("v3_m1", "v3_m2", "v3_m3_1", "v3_m3_2", "v3_m4_1", "v3_m4_2", "v3_m1_r"),
    "V4 exp. 1": tuple(f"v4_m{i}" for i in range(1, 8)),
    "V4 exp. 2": ("v4_m1a", "v4_m1b", "v4_m1c", "v4_m1d", "v4_m1e"),
    "relatives": ("denseformer", "mudd"),
}
V3_MLP = ("v3_m1", "v3_m3_1", "v3_m3_2", "v3_m1_r")


@dataclass(frozen=True)
class ResidualSettings:
    """The tiers of one chapter run; defaults and reasons in ``ptlab.profiles`` (residual)."""

    screen_seeds: int  # seeds per variant in the screen (>= 2: the paired sd needs them)
    lr_rates: tuple[float, ...]  # learning rates of the check (the screen's included)
    lr_seeds: int
    confirm_steps: int
    confirm_seeds: int  # the cap on the confirmation's seeds
    confirm_claims: bool  # the confirmation also trains every variant a claim names
    confirm_eval_batches: int  # x eval_batch_size x seq_len bytes of validation
    confirm_eval_every: int
    target: float  # the smallest detectable effect the confirmation aims for (nats/byte)
    margin: float  # "hardly matters": |Δ| below this (nats/byte)
    slower_margin: float  # "slower": eval time above (1 + this) x the explicit baseline's
    depth_layers: int  # 0 skips the depth check
    depth_seeds: int

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "int" and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ConfigError(f"{f.name} must be an integer >= 0, got {v!r}")
        for name in ("screen_seeds", "lr_seeds", "confirm_seeds"):
            if getattr(self, name) < 2:
                raise ConfigError(f"{name} must be >= 2 (paired sds need two seeds)")
        for name in ("confirm_steps", "confirm_eval_batches", "confirm_eval_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not self.lr_rates or any(not (isinstance(r, float) and r > 0) for r in self.lr_rates):
            raise ConfigError(f"lr_rates must be positive numbers, got {self.lr_rates!r}")
        if not isinstance(self.confirm_claims, bool):
            raise ConfigError(f"confirm_claims must be true or false, got {self.confirm_claims!r}")
        for name in ("target", "margin", "slower_margin"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)!r}")

    @classmethod
    def from_profile(cls, profile: str = "quick", **overrides) -> ResidualSettings:
        """The profile's settings; an override of None keeps the profile's value."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            allowed = ", ".join(sorted(known))
            raise ConfigError(f"unknown residual setting {unknown[0]!r}; allowed: {allowed}")
        values = dict(study_section(profile, "residual")["study"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["lr_rates"] = tuple(float(r) for r in values["lr_rates"])
        return cls(**values)

    def replace(self, **kw) -> ResidualSettings:
        return dataclasses.replace(self, **kw)


@dataclass(frozen=True)
class Where:
    """Where a chapter's runs go: profile, results dir, and whether to show progress."""

    profile: str = "quick"
    results_dir: str = "results"
    progress: bool = True

    def run(self, study: str, names: list[str], seeds: int, overrides=None, timed=False):
        """The residual design of ``names`` (baseline first); ``timed`` runs also time their
        eval pass against the baselines (the screen's cost columns)."""
        return run_study(
            study,
            design(names),
            seeds=seeds,
            profile=self.profile,
            overrides=overrides,
            results_dir=self.results_dir,
            progress=self.progress,
            section="residual",
            measure=MEASURE if timed else CONNECTIONS,
        )


# --- the tiers -------------------------------------------------------------------------------


def screen(where: Where, settings: ResidualSettings, names: list[str]):
    """Every variant in ``names`` (the baseline always), the section's length and rate."""
    return where.run("residual", names, settings.screen_seeds, timed=True)


def confirmation_variants(chosen: list[str], settings: ResidualSettings) -> list[str]:
    """What the confirmation trains: the baseline and the finalists (``chosen``), then, with
    ``confirm_claims``, every other variant a claim of Note 3 names, in the design's order."""
    if not settings.confirm_claims:
        return list(chosen)
    named = set().union(*(c.variants for c in CLAIMS)) - set(chosen)
    return list(chosen) + [v for v in RESIDUALS if v in named]


def finalists(table: pd.DataFrame) -> list[str]:
    """The baseline and each family's lowest mean screen Δ (``table``: ``variant_table``)."""
    delta = table.set_index("variant")["delta_loss"]
    out = ["baseline"]
    for members in FAMILIES.values():
        present = [m for m in members if m in delta.index and math.isfinite(delta[m])]
        if present:
            out.append(min(present, key=lambda m: (delta[m], RESIDUALS.index(m))))
    return out


def power(screen_runs: pd.DataFrame, chosen: list[str], settings: ResidualSettings) -> dict:
    """The power calculation from the screen's own paired sd (pooled over the finalists): the
    seeds needed for ``target``, the seeds used (capped), and the detectable effect each gives."""
    pooled = pooled_paired_sd(screen_runs, [v for v in chosen if v != "baseline"])
    sd = pooled["sd"]
    needed = seeds_needed(sd, settings.target) if sd > 0 else 2
    used = max(2, min(needed, settings.confirm_seeds))
    return {
        **pooled,
        "target": settings.target,
        "seeds_needed": needed,
        "seeds_used": used,
        "detectable_at_used": detectable_effect(sd / math.sqrt(used), used - 1),
        "detectable_at_screen": detectable_effect(
            sd / math.sqrt(settings.screen_seeds), settings.screen_seeds - 1
        ),
    }


def lr_check(where: Where, settings: ResidualSettings, chosen: list[str], screen_lr: float):
    """The finalists at every rate of ``lr_rates`` other than the screen's (the screen's own
    runs hold that one); returns the runs with an ``lr`` column."""
    frames = []
    for lr in settings.lr_rates:
        if math.isclose(lr, screen_lr):
            continue
        runs, _ = where.run("residual-lr", chosen, settings.lr_seeds, {"lr": lr})
        frames.append(runs.assign(lr=lr))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def choose_lr(by_lr: pd.DataFrame) -> float:
    """The rate with the lowest mean baseline loss (``by_lr``: runs with an ``lr`` column)."""
    base = by_lr[(by_lr["residual"] == "baseline") & (by_lr["status"] == "ok")]
    return float(base.groupby("lr")["eval/loss"].mean().idxmin())


def confirm_overrides(settings: ResidualSettings, lr: float, steps: int | None = None) -> dict:
    return {
        "lr": lr,
        "steps": steps or settings.confirm_steps,
        "eval_every": settings.confirm_eval_every,
        "eval_batches": settings.confirm_eval_batches,
    }


def confirm(where: Where, settings: ResidualSettings, chosen: list[str], lr: float, seeds: int):
    """The finalists at the confirmation's length, rate and validation size."""
    return where.run("residual-confirm", chosen, seeds, confirm_overrides(settings, lr))


def fairness_steps(
    where: Where, settings: ResidualSettings, chosen: list[str], screen_table: pd.DataFrame
) -> dict[str, int]:
    """{what the baseline is matched to: steps}: the V3 finalist's FLOPs, MUDD's time."""
    m, _ = profile_configs(where.profile, dict.fromkeys(SWITCHES, True), study="residual")
    out = {}
    v3 = [v for v in chosen if v in V3_MLP]
    if v3:
        ratio = flops_per_token(m.replace(residual=v3[0])) / flops_per_token(m)
        out[f"FLOPs of {v3[0]}"] = round(settings.confirm_steps * ratio)
    if "mudd" in chosen:
        ratio = float(screen_table.set_index("variant").loc["mudd", "step_time_ratio"])
        if math.isfinite(ratio) and ratio > 1:
            out["time of mudd"] = round(settings.confirm_steps * round(ratio, 1))
    return out


def fairness(where: Where, settings: ResidualSettings, steps: dict[str, int], lr, seeds):
    """The baseline at each matched length (runs with a ``matched`` column)."""
    frames = []
    for what, n in steps.items():
        runs, _ = where.run(
            "residual-confirm", ["baseline"], seeds, confirm_overrides(settings, lr, n)
        )
        frames.append(runs[runs["residual"] == "baseline"].assign(matched=what, steps=n))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def depth(where: Where, settings: ResidualSettings, best: list[str]):
    """The baseline and ``best`` at ``depth_layers`` layers (screen length, rate and seeds)."""
    if not settings.depth_layers:
        return pd.DataFrame()
    runs, _ = where.run(
        "residual-depth",
        ["baseline", *best],
        settings.depth_seeds,
        {"n_layers": settings.depth_layers},
    )
    return runs


# --- the tiers' tables -----------------------------------------------------------------------


def lr_table(by_lr: pd.DataFrame) -> pd.DataFrame:
    """Per (variant, lr): mean loss over seeds, and the seed penalty: the variant's loss spread
    between its seeds beyond the baseline's (seed max − seed min, minus the baseline's), the
    symptom of a rate too high for a variant's extra parameters."""
    ok = by_lr[by_lr["status"] == "ok"]
    rows = []
    for (lr, name), g in ok.groupby(["lr", "residual"]):
        spread = g["eval/loss"].max() - g["eval/loss"].min()
        base = ok[(ok["lr"] == lr) & (ok["residual"] == "baseline")]["eval/loss"]
        rows.append(
            {
                "variant": name,
                "lr": lr,
                "loss": g["eval/loss"].mean(),
                "seed_penalty": spread - (base.max() - base.min()),
            }
        )
    out = pd.DataFrame(rows)
    out["order"] = out["variant"].map({v: i for i, v in enumerate(RESIDUALS)})
    return out.sort_values(["order", "lr"]).drop(columns="order").reset_index(drop=True)


def final_slope(
    curves: pd.DataFrame, variant: str = "baseline", fraction: float = 0.2
) -> tuple[float, int]:
    """The change of a variant's validation loss per 100 steps over the last ``fraction`` of
    training, or its last two evaluations when that window holds fewer (least-squares slope of
    the seed-mean curve): how flat the curve has become. Returns (slope, first step used); nan
    with fewer than two evaluations."""
    c = curves[curves["residual"] == variant].groupby("step")["eval_loss"].mean().sort_index()
    last = c[c.index >= c.index.max() * (1 - fraction)]
    if len(last) < 2:
        last = c.iloc[-2:]
    if len(last) < 2:
        return float("nan"), int(c.index.max()) if len(c) else 0
    slope = np.polyfit(last.index.to_numpy(float), last.to_numpy(float), 1)[0]
    return float(100 * slope), int(last.index.min())


def fairness_table(confirm_runs: pd.DataFrame, fair_runs: pd.DataFrame) -> pd.DataFrame:
    """Each finalist against the baseline trained for its FLOPs (or time): paired Δ over seeds
    with its 95 % interval, beside its Δ against the baseline of the same length."""
    from ptlab.verdict import t_interval

    rows = []
    for what, g in fair_runs.groupby("matched"):
        variant = what.split(" of ")[-1]
        mine = confirm_runs[
            (confirm_runs["residual"] == variant) & (confirm_runs["status"] == "ok")
        ]
        same = confirm_runs[
            (confirm_runs["residual"] == "baseline") & (confirm_runs["status"] == "ok")
        ]
        longer = g[g["status"] == "ok"].set_index("seed")["eval/loss"]
        v = mine.set_index("seed")["eval/loss"]
        iv = t_interval((v - longer).dropna().to_numpy())
        same_iv = t_interval((v - same.set_index("seed")["eval/loss"]).dropna().to_numpy())
        rows.append(
            {
                "variant": variant,
                "matched": what,
                "steps": int(g["steps"].iloc[0]),
                "delta_same_steps": same_iv.estimate,
                "delta_loss": iv.estimate,
                "ci_low": iv.low,
                "ci_high": iv.high,
            }
        )
    return pd.DataFrame(rows)


def weights_movement(records: list[dict], variant: str, profile: str) -> float:
    """The largest |learned − initial| entry of a variant's connection weights (seed mean):
    whether training moved them at all. The initial weights come from the variant built fresh."""
    import torch

    from ptlab.models import ResidualLM
    from ptlab.residual.study import connection_matrix

    learned = connection_matrix(records, variant)
    if not learned.size:
        return float("nan")
    on = dict.fromkeys(SWITCHES, True)
    m, _ = profile_configs(profile, {**on, "residual": variant}, study="residual")
    torch.manual_seed(0)
    start = ResidualLM(m).connection_weights()
    init = next(iter(start.values())).numpy() if start else np.zeros_like(learned)
    return float(np.nanmax(np.abs(learned - init)))
