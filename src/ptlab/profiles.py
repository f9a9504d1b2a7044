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

# Gao et al.'s optimiser for every circuits model (sparse and dense): Adam with eps 0.1 on
# RMS-normalised gradients, 1 % warm-up then linear decay to 0 (times the L0 factor when sparse)
CIRCUITS_TRAIN: dict[str, Any] = dict(
    batch_size=16,
    lr=1e-2,
    warmup_steps=1,
    min_lr_ratio=0.0,
    weight_decay=0.1,
    adam_eps=0.1,
    grad_norm="rms",
    schedule="linear",
    eval_batches=8,
    eval_batch_size=32,
)

# The attribution study's analysis settings (ptlab.attribution.StudySettings); every cost scales
# with the loss rows: windows x noise draws for masked diffusion.
ATTRIBUTION_STUDY: dict[str, Any] = dict(
    n_seeds=3,  # training seeds per family: the seed sd and the seed-mean intervals need >= 3
    n_windows=16,  # attribution windows per set (code, prose)
    n_verify=32,  # held-out verification windows
    n_steps=16,  # Gauss-Legendre nodes of IG (the completeness gap is reported per row)
    n_random=5,  # random pruning orders per model (the band pools the seeds)
    n_subsets=30,  # random 30 % subsets for the verification
    n_shapley=8,  # Shapley permutations (all prefixes of one order: one batch)
    n_boot=1000,  # bootstrap resamples of windows
    prune_fraction=0.3,  # the note's 30 %
    noise_draws=4,  # stratified masks per masked-diffusion window (attribution.losses)
    # exact Shapley: 2^16 gate subsets x (windows x bytes); on 2 CPU cores 16 full 64-byte
    # windows cost about 10 min per member, so quick scores the first 16 bytes of 16 windows
    # (about 1 min per member); every member, so the diffusion models are checked too
    exact_windows=16,  # windows for exact Shapley (first seed); 0 skips it
    exact_bytes=16,  # their first bytes (the model's full window length at most)
    exact_members=("ar", "llada", "dream"),  # members that get exact Shapley
)

# The residual study's tiers after the screen (ptlab.residual.ResidualSettings; the rules are in
# ptlab.residual.tiers).
RESIDUAL_STUDY: dict[str, Any] = dict(
    screen_seeds=2,  # every variant twice: the screen's paired sd feeds the power calculation
    lr_rates=(2e-3, 3e-3, 5e-3),  # the confirmation's rate is chosen on the baseline
    lr_seeds=2,
    confirm_steps=600,  # 2x the screen at a lower rate (the chapter shows the final slope)
    confirm_seeds=4,  # a cap: what fits the quick budget (the chapter prints what is needed)
    # the confirmation trains the finalists; with confirm_claims also every variant a claim of
    # Note 3 names (about 25 more: the full profile's choice, beyond the quick budget)
    confirm_claims=False,
    confirm_eval_batches=100,  # 100 x 32 windows x 64 bytes = 204,800 bytes of validation
    confirm_eval_every=150,  # four evaluations: the curve's end and its slope
    target=0.02,  # nats/byte: published gains are 0.02-0.08 at scale
    margin=0.01,  # "hardly matters": within +-0.01 nats/byte (about half a seed sd)
    slower_margin=0.10,  # "slower": more than 10 % over the explicit-attention baseline
    depth_layers=8,  # L = 4 vs 8 for the two best finalists; 0 skips
    depth_seeds=2,
)

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
        "models": dict(seeds=2),  # the models chapter's seeds per end of the family
        # 16 windows a batch (not 8): at 30 steps the heads must matter for the attribution
        "attribution": dict(
            model={},
            train=dict(batch_size=16),
            steps=(30, 30, 20),
            band_layers=3,
            study={
                **ATTRIBUTION_STUDY,
                **dict(n_seeds=2, n_windows=4, n_verify=8, n_random=2, n_subsets=5),
                **dict(n_shapley=2, n_boot=50, exact_windows=2, exact_members=("ar",)),
            },
        ),
        "residual": dict(
            model=dict(n_layers=3),
            train={},
            study={
                **RESIDUAL_STUDY,
                **dict(lr_rates=(3e-3, 5e-3), confirm_steps=40, confirm_eval_batches=4),
                **dict(confirm_eval_every=20, confirm_seeds=2, depth_layers=4),
            },
        ),
        # every code path of the circuits study in seconds: "solved" and the target are loose
        "circuits": dict(
            model=dict(n_layers=2, seq_len=64, afrac=0.25, pos_embed=True),
            train=dict(CIRCUITS_TRAIN, steps=30, eval_every=30, eval_batches=2),
            models=(("dense", 16), ("dense", 32), ("sparse", 32, 0.5), ("sparse", 32, 0.25)),
            sparse_lr=1e-2,
            base_width=16,
            floor=1,
            train_seeds=2,
            mix_fraction=0.02,
            tasks=("quote", "bracket"),
            prune=dict(
                steps=5, batch_pairs=4, lr=1e-2, k_coefs=(1e-3, 1e-4), resumes=1, target=1.0
            ),
            n_prune_pairs=8,
            n_heldout_pairs=8,
            prune_seeds=2,
            solve_threshold=1e9,
            sufficiency_margin=0.1,
            n_random=2,
            zero_ablation=True,
            mean_batches=2,
            dilution_lengths=(1, 4),
        ),
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
        "models": dict(seeds=3),  # the two ends, 3 seeds each: a seed sd to set the gap against
        # 4 layers x 4 heads (N = 16: exact Shapley is 2^16 forwards); equal token budgets,
        # Dream's 300 adaptation steps start from the AR run at step 300; 3 seeds of the three
        # members fit the chapter's 20 minutes (README, "Performance")
        # band_layers: a deeper AR model (6 x 4 heads, N = 24) only for the layer-band strategy,
        # whose depth thirds are {0, 1} / {2, 3} / {4, 5} (at 4 layers they are single layers)
        "attribution": dict(
            model=dict(n_layers=4),
            train={},
            steps=(600, 600, 300),
            band_layers=6,
            study=ATTRIBUTION_STUDY,
        ),
        # the screen: every variant x 2 seeds at 4 layers (cross-layer connections need depth; 6
        # would not fit the quick budget on 2 cores), 300 steps at lr 5e-3; the tiers after it
        # (learning rate, confirmation, fairness, depth) in RESIDUAL_STUDY
        "residual": dict(
            model=dict(n_layers=4), train=dict(steps=300, eval_every=60), study=RESIDUAL_STUDY
        ),
        # Gao et al.'s recipe at byte level on 2 CPU cores (chapter circuits, README): three dense
        # widths and sparse models at L0 1/16 and 1/32, the main one 4x the base width (d 128,
        # L0 1/32), two training seeds each, 2 layers, 2000 steps of 16 windows; AbsTopK off and
        # a position embedding; four tasks (set_string and bracket_brace stay near chance at
        # this budget and would dilute the templates; bracket is kept for context dilution);
        # pruning: 3 phases of 40 steps
        "circuits": dict(
            model=dict(n_layers=2, seq_len=64, afrac=1.0, pos_embed=True),
            train=dict(CIRCUITS_TRAIN, steps=2000, warmup_steps=20, eval_every=2000),
            sparse_lr=2e-2,
            models=(
                ("dense", 16),
                ("dense", 32),
                ("dense", 48),
                ("sparse", 64, 1 / 16),
                ("sparse", 64, 1 / 32),
                ("sparse", 128, 1 / 32),
            ),
            base_width=32,
            floor=1,
            train_seeds=2,
            mix_fraction=2.0,
            tasks=("quote", "bracket", "while_return", "lambda_def"),
            prune=dict(steps=40, batch_pairs=8, lr=1.5e-2, k_coefs=(3e-3, 1e-3, 3e-4), target=0.15),
            n_prune_pairs=32,
            n_heldout_pairs=64,
            prune_seeds=2,
            solve_threshold=0.1,
            sufficiency_margin=0.15,
            n_random=3,
            zero_ablation=False,  # time: the quick chapter's budget
            mean_batches=16,
            dilution_lengths=(1, 2, 4, 6, 8),
        ),
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
        "models": dict(seeds=5),
        # the attribution chapter's M model (6 layers x 8 heads, d 128, N = 48): depth thirds of
        # 2 layers make the layer bands meaningful; equal budgets, Dream adapting the last 2500
        "attribution": dict(
            model=dict(d_model=128, n_layers=6, n_heads=8, seq_len=128),
            train={},
            steps=(5000, 5000, 2500),
            band_layers=0,  # the M model's own thirds hold two layers: no extra model
            # five seeds for the seed-level intervals; the M model's N = 48 heads put exact
            # Shapley (2^48 subsets) out of reach: the quick model's 16 heads carry that check
            study={**ATTRIBUTION_STUDY, "n_seeds": 5, "n_windows": 64, "exact_windows": 0},
        ),
        # 8 layers on a GPU; the confirmation's seeds are what the power calculation asks for
        "residual": dict(
            model=dict(n_layers=8),
            train={},
            study={
                **RESIDUAL_STUDY,
                **dict(screen_seeds=3, confirm_steps=10000, confirm_seeds=30, confirm_claims=True),
                **dict(confirm_eval_batches=200, confirm_eval_every=1000, depth_layers=12),
            },
        ),
        # the paper's sizes (a GPU; not run on this machine): 8 layers, the 1x base width 256,
        # sparse models 4x wider (d 1024) at L0 1/64 and 1/128 and a 2x one at 1/64 (the width
        # pair), AbsTopK 1/4, j = 4, no position embedding, 20 % templates, all six tasks
        "circuits": dict(
            model=dict(n_layers=8, seq_len=128, afrac=0.25, pos_embed=False),
            train=dict(
                CIRCUITS_TRAIN,
                steps=20000,
                batch_size=64,
                warmup_steps=200,
                eval_every=2000,
                eval_batches=32,
                eval_batch_size=64,
            ),
            sparse_lr=2e-2,
            models=(
                ("dense", 128),
                ("dense", 256),
                ("dense", 512),
                ("sparse", 512, 1 / 64),
                ("sparse", 1024, 1 / 64),
                ("sparse", 1024, 1 / 128),
            ),
            base_width=256,
            floor=4,
            train_seeds=2,
            mix_fraction=0.25,
            prune=dict(steps=600, batch_pairs=64, lr=1e-3, k_coefs=(3e-4, 1e-4, 3e-5), target=0.15),
            n_prune_pairs=256,
            n_heldout_pairs=256,
            prune_seeds=3,
            solve_threshold=0.1,
            sufficiency_margin=0.15,
            n_random=20,
            zero_ablation=True,
            mean_batches=100,
            dilution_lengths=(1, 2, 4, 8, 16, 24),
        ),
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
